package cluster

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/redistest"
	rc "github.com/tessera-mcu/tessera/room/cluster"
)

// TestRelayedHandleLifecycle: a handle relayed from A to the room's host
// B leaves, is kicked and detaches as a local one would, each time
// unbound so that its next join is routed afresh; and when A dies, its
// participants leave B's room.
func TestRelayedHandleLifecycle(t *testing.T) {
	redis := redistest.New(t)
	a, b := newNode(t, redis, "a"), newNode(t, redis, "b")
	if err := a.cl.Node().SetLoad(context.Background(), rc.Load{Participants: 50}); err != nil {
		t.Fatal(err)
	}
	const ab = "janus.plugin.audiobridge"
	const roomID = 77
	modA, modB := dial(t, a, ab), dial(t, b, ab)
	if d := data(modA.request(M{"request": "create", "room": roomID, "secret": "s"}, "")); d["audiobridge"] != "created" {
		t.Fatalf("create: %v", d)
	}
	if host, _, _ := a.store.Host(context.Background(), roomID); host != "b" {
		t.Fatalf("room hosted on %q, want b", host)
	}
	x := dial(t, a, ab)
	m := join(t, x, roomID, "", "x", 440)
	if got := participantIDs(t, modB, roomID); !slices.Equal(got, []uint64{m.id}) {
		t.Fatalf("participants on B: %v, want [%d]", got, m.id)
	}

	// leave: the participant is gone from B, and the handle may join again.
	if d := data(x.request(M{"request": "leave"}, "")); d["audiobridge"] != "left" {
		t.Fatalf("leave: %v", d)
	}
	if got := participantIDs(t, modB, roomID); len(got) != 0 {
		t.Fatalf("participants on B after leave: %v", got)
	}
	d := data(x.request(M{"request": "join", "room": roomID, "display": "x"}, ""))
	id := num(d, "id")
	if d["audiobridge"] != "joined" || id == 0 {
		t.Fatalf("join after leave: %v", d)
	}

	// kick through A: the relayed client hears it and is unbound.
	if d := data(modA.request(M{"request": "kick", "room": roomID, "secret": "s", "id": id}, "")); d["audiobridge"] != "success" {
		t.Fatalf("kick: %v", d)
	}
	x.wait("kicked", 5*time.Second, func(e M) bool { return num(data(e), "kicked") == id })
	m = join(t, x, roomID, "", "x", 440)

	// detach: the hangup comes before detached, and B's room empties.
	x.send(M{"janus": "detach", "session_id": x.sid, "handle_id": x.hid, "transaction": "d"})
	var order []string
	x.wait("detached", 5*time.Second, func(e M) bool {
		if e["janus"] == "hangup" || e["janus"] == "detached" {
			order = append(order, e["janus"].(string))
		}
		return e["janus"] == "detached"
	})
	if !slices.Equal(order, []string{"hangup", "detached"}) {
		t.Fatalf("after detach: %v, want hangup then detached", order)
	}
	if got := participantIDs(t, modB, roomID); len(got) != 0 {
		t.Fatalf("participants on B after detach: %v", got)
	}

	// A dies: its relayed participant leaves B's room.
	y := dial(t, a, ab)
	join(t, y, roomID, "", "y", 660)
	a.stop(false)
	var got []uint64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = participantIDs(t, modB, roomID); len(got) == 0 {
			break
		}
	}
	if len(got) != 0 {
		t.Fatalf("participants on B after A died: %v", got)
	}
	if s := b.cl.Stats(); s.OriginsLost != 1 {
		t.Errorf("B's stats: %+v, want one origin lost", s)
	}
}
