package room

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room/rtc"
)

func newLimitedManager(t *testing.T, l Limits) *Manager {
	t.Helper()
	return newManagerWith(t, rtc.EngineConfig{BindIP: "127.0.0.1", DisableTCP: true}, ManagerConfig{Workers: 1, Limits: l})
}

// The room after the last the cap allows is refused; the rooms already
// there live on, and a destroyed one frees its place.
func TestLimitMaxRooms(t *testing.T) {
	m := newLimitedManager(t, Limits{MaxRooms: 2})
	a, err := m.Create(Config{ID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(Config{ID: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(Config{ID: 3}); !errors.Is(err, ErrTooManyRooms) {
		t.Fatalf("third room: err %v, want ErrTooManyRooms", err)
	}
	if _, err := m.Get(3); !errors.Is(err, ErrRoomNotFound) {
		t.Errorf("the refused room exists: %v", err)
	}
	if _, _, err := a.Join(ctxT(t), JoinRequest{Display: "still here"}); err != nil {
		t.Errorf("a room under the cap refused a join: %v", err)
	}
	if err := m.Destroy(ctxT(t), 2); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(Config{ID: 3}); err != nil {
		t.Errorf("after a destroy: %v", err)
	}
}

// The server-wide participant cap counts every room; a leave, a kick and
// a destroyed room give seats back, and a move between rooms at a full
// server is not refused.
func TestLimitMaxParticipants(t *testing.T) {
	m := newLimitedManager(t, Limits{MaxParticipants: 3})
	a, _ := m.Create(Config{ID: 1})
	b, _ := m.Create(Config{ID: 2})
	c, _ := m.Create(Config{ID: 3})
	ctx := ctxT(t)
	p1, _, err := a.Join(ctx, JoinRequest{Display: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Join(ctx, JoinRequest{Display: "2"}); err != nil {
		t.Fatal(err)
	}
	p3, _, err := b.Join(ctx, JoinRequest{Display: "3"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Join(ctx, JoinRequest{Display: "4"}); !errors.Is(err, ErrServerFull) {
		t.Fatalf("fourth participant: err %v, want ErrServerFull", err)
	}
	if got := m.Participants(); got != 3 {
		t.Errorf("participants %d, want 3", got)
	}
	// A refused join took nothing: the room still has one, and a move at
	// a full server keeps the mover's seat.
	if n := b.Summary().Participants; n != 1 {
		t.Errorf("room 2 has %d participants, want 1", n)
	}
	if _, err := a.Move(ctx, p1.ID, c, JoinRequest{Display: "1 moved"}); err != nil {
		t.Fatalf("move at a full server: %v", err)
	}
	if got := m.Participants(); got != 3 {
		t.Errorf("after the move: participants %d, want 3", got)
	}
	if err := b.Leave(ctx, p3.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Join(ctx, JoinRequest{Display: "4"}); err != nil {
		t.Fatalf("after a leave: %v", err)
	}
	if _, _, err := c.Join(ctx, JoinRequest{Display: "5"}); !errors.Is(err, ErrServerFull) {
		t.Fatalf("fifth: err %v, want ErrServerFull", err)
	}
	if err := m.Destroy(ctx, 1); err != nil { // one participant left in room 1
		t.Fatal(err)
	}
	if got := m.Participants(); got != 2 {
		t.Errorf("after destroying a room: participants %d, want 2", got)
	}
	if _, _, err := c.Join(ctx, JoinRequest{Display: "5"}); err != nil {
		t.Errorf("after a destroy: %v", err)
	}
}

// A recording beyond the cap is refused with its own error; the one
// running goes on, and when it stops the next may start.
func TestLimitMaxRecordings(t *testing.T) {
	m := newLimitedManager(t, Limits{MaxRecordings: 1})
	a, _ := m.Create(Config{ID: 1, Video: VideoConfig{Disabled: true}})
	b, _ := m.Create(Config{ID: 2, Video: VideoConfig{Disabled: true}})
	dir := t.TempDir()
	ctx := ctxT(t)
	if _, err := a.StartRecording(ctx, RecordOptions{Dir: dir, Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.StartRecording(ctx, RecordOptions{Dir: dir, Name: "b"}); !errors.Is(err, ErrTooManyRecordings) {
		t.Fatalf("second recording: err %v, want ErrTooManyRecordings", err)
	}
	if _, on, _ := a.Recording(ctx); !on {
		t.Error("the running recording stopped")
	}
	// A refused start in a room that already records gives its claim
	// back too.
	if _, err := a.StartRecording(ctx, RecordOptions{Dir: dir, Name: "a2"}); !errors.Is(err, ErrTooManyRecordings) && !errors.Is(err, ErrAlreadyRecording) {
		t.Fatalf("second start in room 1: %v", err)
	}
	if _, err := a.StopRecording(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.Recordings(); got != 0 {
		t.Errorf("recordings %d after the stop, want 0", got)
	}
	if _, err := b.StartRecording(ctx, RecordOptions{Dir: dir, Name: "b"}); err != nil {
		t.Errorf("after the stop: %v", err)
	}
}

// Below the disk-space floor a recording does not start; one running
// stops cleanly when the space falls below it (here: a file takes the
// space), its file finished and playable, and the meeting goes on.
func TestLimitRecordingDiskFloor(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	free, err := freeBytes(dir)
	if err != nil {
		t.Fatal(err)
	}
	const margin = 512 << 20
	if free < 8*margin {
		t.Skipf("%d MiB free: too little to take some of it", free>>20)
	}
	m := newManager(t)
	r, _ := m.Create(Config{Video: VideoConfig{Disabled: true}})
	sub := r.Subscribe(0)
	defer sub.Close()
	a := join(t, r, "a", testpeer.Options{ToneHz: 440})
	b := join(t, r, "b", testpeer.Options{ToneHz: 660})

	_, err = r.StartRecording(ctxT(t), RecordOptions{Dir: dir, Name: "refused", MinFree: free + margin})
	if !errors.Is(err, ErrDiskLow) {
		t.Fatalf("start below the floor: err %v, want ErrDiskLow", err)
	}
	info, err := r.StartRecording(ctxT(t), RecordOptions{Dir: dir, Name: "floor", MinFree: free - margin})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	// Take twice the margin: the free space falls below the floor.
	hog, err := os.Create(filepath.Join(dir, "hog"))
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(hog.Name())
	defer hog.Close()
	if err := syscall.Fallocate(int(hog.Fd()), 0, 0, 2*margin); err != nil {
		t.Skipf("fallocate: %v", err)
	}
	// The refused start was told first, then the start.
	started, stopped := false, false
	for deadline := time.After(3 * diskCheckEvery); !stopped; {
		select {
		case e := <-sub.C:
			if e.Kind == EventRecording && e.Recording {
				started = true
			}
			if started && e.Kind == EventRecording && !e.Recording {
				stopped = true
				if !strings.Contains(e.Reason, "free") {
					t.Errorf("stop reason %q does not tell the disk is low", e.Reason)
				}
			}
		case <-deadline:
			t.Fatal("the recording went on below the disk floor")
		}
	}
	if _, on, _ := r.Recording(ctxT(t)); on {
		t.Error("recording still reported as running")
	}
	if got := m.Recordings(); got != 0 {
		t.Errorf("recordings %d after the stop, want 0", got)
	}
	if p := ffprobe(t, info.Path); p.duration() < 0.5 {
		t.Errorf("the stopped file lasts %.2f s", p.duration())
	}
	decodeClean(t, info.Path)
	if !hears(a.peer, 660) || !hears(b.peer, 440) {
		t.Error("the meeting stopped with the disk low")
	}
}
