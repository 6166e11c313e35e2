package events_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/signaling/events"
	"github.com/tessera-mcu/tessera/signaling/events/eventstest"
)

// A room manager with Rooms as its Lifecycle reports a room's creation,
// the recording its end finished, then its end.
func TestRoomLifecycleEvents(t *testing.T) {
	rcv := eventstest.New(t, nil)
	d := newDispatcher(t, events.Options{Backends: []string{rcv.URL}, BatchDelay: 10 * time.Millisecond})
	m, err := room.NewManager(room.ManagerConfig{Workers: 1, DisablePinning: true, Logger: quiet(), Lifecycle: events.Rooms{Sink: d}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	r, err := m.Create(room.Config{ID: 7, Description: "Seven"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := r.StartRecording(ctx, room.RecordOptions{Dir: t.TempDir(), Name: "seven"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := m.Destroy(ctx, 7); err != nil {
		t.Fatal(err)
	}
	data := func(e eventstest.Event) map[string]any {
		if name, d := e.Plugin(); name == events.RoomPlugin {
			return d
		}
		return nil
	}
	evs := rcv.Wait(t, "created, recording-finished, destroyed", func(evs []eventstest.Event) bool { return len(evs) >= 3 })
	want := []string{"created", "recording-finished", "destroyed"}
	for i, w := range want {
		if d := data(evs[i]); d["event"] != w || d["room"] != 7.0 {
			t.Fatalf("event %d: %+v, want %s of room 7", i, evs[i], w)
		}
	}
	if d := data(evs[0]); d["description"] != "Seven" {
		t.Errorf("created: %v", d)
	}
	fi, err := os.Stat(info.Path)
	if d := data(evs[1]); err != nil || d["path"] != info.Path || d["reason"] != "room destroyed" || int64(d["size"].(float64)) != fi.Size() {
		t.Errorf("recording-finished: %v (file: %v)", d, err)
	}
	if d := data(evs[2]); d["reason"] != nil {
		t.Errorf("destroyed on request has a reason: %v", d)
	}
}
