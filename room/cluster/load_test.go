package cluster

import (
	"context"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/redistest"
	"github.com/tessera-mcu/tessera/room"
)

func newManager(t *testing.T) *room.Manager {
	t.Helper()
	m, err := room.NewManager(room.ManagerConfig{Workers: 1, DisablePinning: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = m.Close(ctx)
	})
	return m
}

// storedLoad is the load the node's heartbeat holds in Redis.
func storedLoad(t *testing.T, s *Store, id NodeID) (Load, bool) {
	t.Helper()
	info, err := s.Node(context.Background(), id)
	if err != nil {
		return Load{}, false
	}
	return info.Load, true
}

// The load stored in Redis follows a real room manager: rooms created
// and destroyed, participants joining; the workers' busy share is
// reported. Through a Redis outage the reporter keeps going (failures
// counted), and once Redis is back the stored load catches up with what
// happened meanwhile.
func TestReporterStoresLoad(t *testing.T) {
	srv := redistest.New(t)
	s := openStore(t, srv.Addr())
	n := join(t, s, "a")
	m := newManager(t)
	rep := n.ReportLoad(m, 100*time.Millisecond)
	defer rep.Close()

	ctx := context.Background()
	eventually(t, 3*time.Second, "an empty node stored", func() bool {
		l, ok := storedLoad(t, s, "a")
		return ok && l.Rooms == 0 && l.Participants == 0 && l.VideoWeight == DefaultVideoWeight
	})
	r1, err := m.Create(room.Config{ID: 10})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := m.Create(room.Config{ID: 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range []struct {
		r    *room.Room
		name string
	}{{r1, "ann"}, {r1, "bob"}, {r2, "cat"}} {
		if _, _, err := j.r.Join(ctx, room.JoinRequest{Display: j.name}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 3*time.Second, "two rooms and three participants stored", func() bool {
		l, ok := storedLoad(t, s, "a")
		return ok && l.Rooms == 2 && l.Participants == 3 && l.VideoRooms == 0
	})
	eventually(t, 3*time.Second, "rooms' tick time and the worker's busy share measured", func() bool {
		st := m.RoomStats()
		l, _ := storedLoad(t, s, "a")
		return len(st) == 2 && st[0].Busy > 0 && st[1].Busy > 0 && l.CPU > 0 && l.CPU <= 1
	})
	if err := m.Destroy(ctx, 20); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "one room and two participants stored", func() bool {
		l, ok := storedLoad(t, s, "a")
		return ok && l.Rooms == 1 && l.Participants == 2
	})

	// Redis away: the reporter fails, counts and goes on.
	srv.Stop()
	if _, _, err := r1.Join(ctx, room.JoinRequest{Display: "dan"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "failed reports counted", func() bool { return rep.Failures() > 0 })
	if l := rep.Load(); l.Participants != 3 {
		t.Fatalf("measured %+v during the outage, want 3 participants", l)
	}
	srv.Start()
	eventually(t, 5*time.Second, "the load stored again after the outage", func() bool {
		l, ok := storedLoad(t, s, "a")
		return ok && l.Rooms == 1 && l.Participants == 3
	})
}

// The video weight: a composed room's tick time in units of the audio
// rooms' tick time per room and participant, less the room and its
// participants, smoothed over the reports; rooms without an interval
// (new, or restarted) are left out, and without both kinds of rooms the
// weight stays as it was.
func TestVideoWeightMeasured(t *testing.T) {
	viewed := []room.OutputStats{{Viewers: 1}}
	unviewed := []room.OutputStats{{Viewers: 0}}
	snap := func(audioBusy, videoBusy, idleVideoBusy time.Duration) []room.RoomStats {
		return []room.RoomStats{
			{ID: 1, Participants: 4, Busy: audioBusy},
			{ID: 2, Participants: 1, Viewers: 1, Busy: videoBusy, VideoOutputs: viewed},
			// A video room nobody watches costs an audio room's price.
			{ID: 3, Participants: 0, Busy: idleVideoBusy, VideoOutputs: unviewed},
		}
	}
	workers := []room.WorkerStats{{BusyRatio: 0.2}, {BusyRatio: 0.4}}
	e := newWeightEstimator()
	l := e.measure(snap(0, 0, 0), workers)
	if l.Rooms != 3 || l.VideoRooms != 1 || l.Participants != 6 || math.Abs(l.CPU-0.3) > 1e-9 || l.VideoWeight != DefaultVideoWeight {
		t.Fatalf("first load %+v", l)
	}
	// Each interval: the audio rooms take 60 ms for 6 units (rooms 1 and
	// 3 with their 4 participants): 10 ms a unit. The video room takes
	// 300 ms, 30 units, of which it and its two participants are 3: 27.
	var busyA, busyV, busyI time.Duration
	for i := range 40 {
		busyA, busyV, busyI = busyA+50*time.Millisecond, busyV+300*time.Millisecond, busyI+10*time.Millisecond
		l = e.measure(snap(busyA, busyV, busyI), workers)
		if i == 0 {
			if want := DefaultVideoWeight + weightSmoothing*(27-DefaultVideoWeight); math.Abs(l.VideoWeight-want) > 1e-9 {
				t.Fatalf("weight after one interval %v, want %v", l.VideoWeight, want)
			}
		}
	}
	if math.Abs(l.VideoWeight-27) > 0.01 {
		t.Fatalf("weight %v after 40 intervals, want 27", l.VideoWeight)
	}
	// Only audio rooms: nothing to compare, the weight stays.
	audioOnly := []room.RoomStats{{ID: 1, Participants: 4, Busy: busyA + time.Second}}
	if l = e.measure(audioOnly, nil); math.Abs(l.VideoWeight-27) > 0.01 || l.CPU != 0 {
		t.Fatalf("weight %v, cpu %v with audio rooms only", l.VideoWeight, l.CPU)
	}
	// A video room seen for the first time, and an audio room whose
	// counter went back (a new room with the same ID): no interval.
	fresh := []room.RoomStats{
		{ID: 1, Participants: 4, Busy: time.Millisecond},
		{ID: 9, Participants: 2, Busy: time.Hour, VideoOutputs: viewed},
	}
	if l = e.measure(fresh, nil); math.Abs(l.VideoWeight-27) > 0.01 {
		t.Fatalf("weight %v from rooms without an interval", l.VideoWeight)
	}
}
