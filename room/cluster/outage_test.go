package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/redistest"
)

// While Redis is away every call fails quickly with ErrUnavailable and the
// rooms a node hosts stay its own; when Redis returns (with its data, or
// empty), the nodes are live again, their leases are theirs again,
// placement and the bus work, without restarting anything.
func TestRedisOutage(t *testing.T) {
	srv := redistest.New(t)
	s := openStore(t, srv.Addr())
	a, b := join(t, s, "a"), join(t, s, "b")
	ctx := context.Background()
	b.Serve("ping", HandlerFunc(func(context.Context, NodeID, []byte) ([]byte, error) { return []byte("pong"), nil }))
	const hosted = RoomID(77)
	if h, err := a.Claim(ctx, hosted); err != nil || h != "a" {
		t.Fatalf("claim: %q %v", h, err)
	}

	srv.Stop()
	down := time.Now()
	calls := map[string]func() error{
		"nodes":   func() error { _, err := s.Nodes(ctx); return err },
		"place":   func() error { _, err := s.Place(ctx, 1); return err },
		"claim":   func() error { _, err := b.Claim(ctx, 2); return err },
		"host":    func() error { _, _, err := s.Host(ctx, hosted); return err },
		"save":    func() error { return s.SaveRoom(ctx, 3, []byte(`{}`)) },
		"list":    func() error { _, err := s.RoomIDs(ctx); return err },
		"publish": func() error { return s.Publish(ctx, 3, []byte("x")) },
		"request": func() error { _, err := a.Request(ctx, "b", "ping", nil); return err },
		"load":    func() error { return a.SetLoad(ctx, Load{Rooms: 1}) },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s during the outage: %v, want ErrUnavailable", name, err)
		}
		if d := time.Since(start); d > 3*s.cfg.OpTimeout {
			t.Errorf("%s took %v to fail (op timeout %v)", name, d, s.cfg.OpTimeout)
		}
	}
	// Longer than the heartbeat TTL and the lease: both lapse while away.
	time.Sleep(2*s.cfg.LeaseTTL - time.Since(down))
	if !a.Hosts(hosted) {
		t.Fatalf("a gave up its room while Redis was away")
	}
	srv.Start()
	recovered(t, s, a, b, hosted, "after a restart with data")

	// A Redis that comes back empty: nodes register again and the host
	// takes its lease back.
	if r, err := srv.Do("FLUSHALL"); err != nil || r != "+OK" {
		t.Fatalf("flushall: %q %v", r, err)
	}
	recovered(t, s, a, b, hosted, "after Redis lost its data")
	if st := a.Stats(); st.HeartbeatFailures == 0 || st.RenewalFailures == 0 {
		t.Errorf("a's counters after the outage: %+v, want failed heartbeats and renewals", st)
	}
}

func recovered(t *testing.T, s *Store, a, b *Node, hosted RoomID, when string) {
	t.Helper()
	ctx := context.Background()
	within := 2*s.cfg.LeaseTTL + 2*time.Second
	eventually(t, within, "both nodes live "+when, func() bool {
		nodes, err := s.Nodes(ctx)
		return err == nil && len(nodes) == 2
	})
	eventually(t, within, "a hosts its room again "+when, func() bool {
		h, ok, err := s.Host(ctx, hosted)
		return err == nil && ok && h == "a"
	})
	if !a.Hosts(hosted) {
		t.Fatalf("a lost its room %s", when)
	}
	room := RoomID(1000 + len(when))
	if n, err := s.Place(ctx, room); err != nil || !slices.Contains([]NodeID{"a", "b"}, n.ID) {
		t.Fatalf("place %s: %q %v", when, n.ID, err)
	}
	eventually(t, within, "the bus carries requests "+when, func() bool {
		got, err := a.Request(ctx, "b", "ping", nil)
		return err == nil && string(got) == "pong"
	})
	if err := s.SaveRoom(ctx, room, []byte(fmt.Sprintf(`{"room":%d}`, room))); err != nil {
		t.Fatalf("save %s: %v", when, err)
	}
}
