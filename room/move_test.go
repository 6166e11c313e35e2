package room

import (
	"errors"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// A participant moved to another room keeps its connection: without a new
// offer it hears the new room and is heard there, and no longer in the
// old one; what it receives stays one stream. A move the new room refuses
// changes nothing.
func TestMoveKeepsMedia(t *testing.T) {
	m := newManager(t)
	src, _ := m.Create(Config{ID: 71})
	dst, _ := m.Create(Config{ID: 72, Pin: "7"})
	a := join(t, src, "a", testpeer.Options{ToneHz: 440})
	b := join(t, src, "b", testpeer.Options{ToneHz: 660})
	cj, _, err := dst.Join(ctxT(t), JoinRequest{Display: "c", Pin: "7"})
	if err != nil {
		t.Fatal(err)
	}
	c := member{id: cj.ID, peer: connect(t, dst, cj.ID, testpeer.Options{ToneHz: 990})}
	if !hears(a.peer, 660) || !hears(b.peer, 440) {
		t.Fatal("no audio in the first room")
	}
	if _, err := src.Move(ctxT(t), a.id, dst, JoinRequest{Display: "a", Pin: "wrong"}); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("move with a wrong pin: %v", err)
	}
	if !hears(b.peer, 440) {
		t.Fatal("a refused move took a out of its room")
	}
	j, err := src.Move(ctxT(t), a.id, dst, JoinRequest{Display: "a", Pin: "7"})
	me, others := j.Me, j.Others
	if err != nil {
		t.Fatal(err)
	}
	if len(others) != 1 || others[0].ID != c.id || !me.Setup {
		t.Fatalf("moved as %+v with %+v", me, others)
	}
	if !hears(a.peer, 990) || !hears(c.peer, 440) {
		t.Errorf("after the move a hears c at %.3f, c hears a at %.3f", a.peer.Level(990, 500*time.Millisecond), c.peer.Level(440, 500*time.Millisecond))
	}
	if !eventually(2*time.Second, func() bool { return b.peer.Level(440, 300*time.Millisecond) < 0.005 }) {
		t.Errorf("b still hears a after it moved: %.3f", b.peer.Level(440, 300*time.Millisecond))
	}
	if lvl := a.peer.Level(660, 300*time.Millisecond); lvl > 0.005 {
		t.Errorf("a still hears b after it moved: %.3f", lvl)
	}
	if ps, _ := src.Participants(ctxT(t)); len(ps) != 1 {
		t.Errorf("%d participants left in the first room, want 1", len(ps))
	}
	if ssrcs, seq, ts := a.peer.Continuity(); ssrcs != 1 || seq != 0 || ts != 0 {
		t.Errorf("a's stream across the move: %d SSRCs, %d sequence jumps, %d timestamp jumps", ssrcs, seq, ts)
	}
	// The connection now belongs to the new room: leaving it closes it.
	if err := dst.Leave(ctxT(t), me.ID); err != nil {
		t.Fatal(err)
	}
	if !eventually(5*time.Second, func() bool { return a.peer.PC.ConnectionState().String() != "connected" }) {
		t.Error("leaving the new room left the connection up")
	}
}
