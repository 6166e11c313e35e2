package room

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// setHook installs a test hook and removes it when the test ends.
func setHook[T any](t *testing.T, h *atomic.Pointer[func(T)], f func(T)) {
	h.Store(&f)
	t.Cleanup(func() { h.Store(nil) })
}

// A panic in one room's tick ends that room, with an event that says so
// to its participants, and nothing else: the room beside it on the same
// workers keeps its media, and the process lives.
func TestTickPanicEndsOnlyItsRoom(t *testing.T) {
	m := newManager(t)
	doomed, err := m.Create(Config{Description: "doomed", Video: VideoConfig{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := m.Create(Config{Description: "other", Video: VideoConfig{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	victim := join(t, doomed, "victim", testpeer.Options{ToneHz: 440})
	a := join(t, other, "a", testpeer.Options{ToneHz: 660})
	b := join(t, other, "b", testpeer.Options{ToneHz: 990})
	if !hears(a.peer, 990) || !hears(b.peer, 660) {
		t.Fatal("the other room's tones never arrived")
	}
	events := doomed.Subscribe(64)
	before := Panics().Tick

	var fired atomic.Bool
	setHook(t, &testHooks.tick, func(r *Room) {
		if r == doomed && fired.CompareAndSwap(false, true) {
			var parts map[int]int
			parts[1] = 1 // a nil map write: a bug of the kind that must stay in its room
		}
	})
	from := time.Now()
	var destroyed *Event
	deadline := time.After(5 * time.Second)
	for destroyed == nil {
		select {
		case e, ok := <-events.C:
			if !ok {
				t.Fatal("events ended without a destroyed event")
			}
			if e.Kind == EventDestroyed {
				destroyed = &e
			}
		case <-deadline:
			t.Fatal("the room whose tick panicked was not ended")
		}
	}
	if destroyed.Reason != ReasonFailed {
		t.Errorf("destroyed event reason %q, want %q", destroyed.Reason, ReasonFailed)
	}
	if Panics().Tick != before+1 {
		t.Errorf("tick panics %d, want %d", Panics().Tick, before+1)
	}
	if _, err := m.Get(doomed.ID()); !errors.Is(err, ErrRoomNotFound) {
		t.Errorf("failed room still listed: %v", err)
	}
	if _, err := doomed.Stats(ctxT(t)); !errors.Is(err, ErrClosed) {
		t.Errorf("failed room still answers: %v", err)
	}
	ended := func() bool {
		switch victim.peer.PC.ConnectionState() {
		case webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateDisconnected:
			return true
		}
		return false
	}
	if !eventually(5*time.Second, ended) {
		t.Errorf("the failed room's participant is still connected: %v", victim.peer.PC.ConnectionState())
	}
	// The other room never noticed.
	time.Sleep(time.Second)
	continuity(t, "a", a.peer, from, time.Second)
	continuity(t, "b", b.peer, from, time.Second)
	if lvl := a.peer.Level(990, 500*time.Millisecond); lvl < 0.15 {
		t.Errorf("a hears b at %.3f after the other room failed", lvl)
	}
	// New rooms still work on the same workers.
	again, err := m.Create(Config{ID: doomed.ID(), Video: VideoConfig{Disabled: true}})
	if err != nil {
		t.Fatalf("creating a room with the failed room's ID: %v", err)
	}
	c := join(t, again, "c", testpeer.Options{ToneHz: 440})
	d := join(t, again, "d", testpeer.Options{ToneHz: 660})
	if !hears(c.peer, 660) || !hears(d.peer, 440) {
		t.Error("a new room after the failure does not mix")
	}
}

// A panic while decoding one camera ends that camera's input, not the
// decode worker: the other camera's tile keeps updating and the room goes
// on.
func TestDecodePanicEndsOnlyItsInput(t *testing.T) {
	m := newManager(t)
	r, err := m.Create(Config{Video: VideoConfig{Tiers: []Tier{{1280, 720, 1_500_000}}}})
	if err != nil {
		t.Fatal(err)
	}
	good := join(t, r, "good", testpeer.Options{Video: "vp8", VideoColor: red, VideoColor2: green, SendOnly: true})
	bad := join(t, r, "bad", testpeer.Options{Video: "vp8", VideoColor: blue, SendOnly: true})
	viewer := join(t, r, "viewer", testpeer.Options{Video: "vp8", RecvOnly: true})
	if err := compositeShows(t, r, viewer.peer, map[ParticipantID]codec.YUV{bad.id: blue}, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	badInput := func() *videoInput {
		var in *videoInput
		_ = r.exec(ctxT(t), func() { in = r.parts[bad.id].vin })
		return in
	}()
	before := Panics().Decode
	setHook(t, &testHooks.decode, func(in *videoInput) {
		if in == badInput {
			panic("decoder bug")
		}
	})
	if !eventually(5*time.Second, func() bool { return Panics().Decode > before }) {
		t.Fatal("the injected decode panic never happened")
	}
	if !badInput.failed.Load() {
		t.Error("the input whose decode panicked was not ended")
	}
	decodedOf := func(id ParticipantID) uint64 {
		st, err := r.Stats(ctxT(t))
		if err != nil {
			t.Fatalf("room gone after a decode panic: %v", err)
		}
		for _, in := range st.VideoInputs {
			if in.Participant == id {
				return in.Decoded
			}
		}
		return 0
	}
	good0, bad0 := decodedOf(good.id), decodedOf(bad.id)
	from := time.Now()
	seen := map[string]bool{}
	for time.Since(from) < 2*time.Second {
		if f := viewer.peer.VideoFrame(); f != nil {
			tiles, _ := r.Tiles(ctxT(t))
			for _, tile := range tiles {
				if tile.Participant == good.id {
					c := tileColor(f, tile, 1280)
					seen["red"] = seen["red"] || c.Distance(red) < 30
					seen["green"] = seen["green"] || c.Distance(green) < 30
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if good1 := decodedOf(good.id); good1 < good0+10 {
		t.Errorf("the good camera decoded %d pictures in 2 s after its neighbour's panic", good1-good0)
	}
	if bad1 := decodedOf(bad.id); bad1 != bad0 {
		t.Errorf("the ended input decoded %d more pictures", bad1-bad0)
	}
	if !seen["red"] || !seen["green"] {
		t.Errorf("the good camera's tile stopped updating: saw %v", seen)
	}
	if n := viewer.peer.VideoFramesSince(from); n < 20 {
		t.Errorf("viewer decoded %d composites in 2 s after the panic", n)
	}
}
