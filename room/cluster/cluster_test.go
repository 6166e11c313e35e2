package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/redistest"
)

// Short timings keep the tests quick; the relations between them are the
// defaults' (beat every third of the TTL, renew well within the lease).
func testConfig(addr string) Config {
	return Config{
		Addr:           addr,
		Prefix:         "test:",
		HeartbeatTTL:   time.Second,
		HeartbeatEvery: 250 * time.Millisecond,
		LeaseTTL:       1500 * time.Millisecond,
		RenewEvery:     400 * time.Millisecond,
		OpTimeout:      500 * time.Millisecond,
		RequestTimeout: 2 * time.Second,
	}
}

func openStore(t *testing.T, addr string) *Store {
	t.Helper()
	s, err := Open(testConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func join(t *testing.T, s *Store, id NodeID, opts ...JoinOption) *Node {
	t.Helper()
	n, err := s.Join(context.Background(), NodeInfo{ID: id, APIAddr: "127.0.0.1:8088", MediaAddr: "127.0.0.1:20000"}, opts...)
	if err != nil {
		t.Fatalf("join %s: %v", id, err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// eventually polls cond until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func liveIDs(t *testing.T, s *Store) []NodeID {
	t.Helper()
	nodes, err := s.Nodes(context.Background())
	if err != nil {
		t.Fatalf("nodes: %v", err)
	}
	ids := make([]NodeID, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	return ids
}

// A node that stops heartbeating (crashed: no goodbye) is not live once
// its TTL has passed, and is dropped from the set of known nodes; a node
// that closes is gone at once.
func TestNodeLivenessFollowsHeartbeat(t *testing.T) {
	srv := redistest.New(t)
	s := openStore(t, srv.Addr())
	a, b := join(t, s, "a"), join(t, s, "b")
	c := join(t, s, "c")
	if got := fmt.Sprint(liveIDs(t, s)); got != "[a b c]" {
		t.Fatalf("live nodes %s, want [a b c]", got)
	}
	// Several heartbeats later, still live.
	time.Sleep(2 * s.cfg.HeartbeatTTL)
	if got := fmt.Sprint(liveIDs(t, s)); got != "[a b c]" {
		t.Fatalf("live nodes after 2 TTLs %s, want [a b c]", got)
	}
	b.halt()
	stopped := time.Now()
	eventually(t, s.cfg.HeartbeatTTL+time.Second, "b disappears", func() bool {
		return fmt.Sprint(liveIDs(t, s)) == "[a c]"
	})
	if d := time.Since(stopped); d > s.cfg.HeartbeatTTL+300*time.Millisecond {
		t.Errorf("b was listed %v after its last heartbeat, TTL %v", d, s.cfg.HeartbeatTTL)
	}
	if in, _ := s.rdb.SIsMember(context.Background(), s.k.nodes(), "b").Result(); in {
		t.Errorf("dead node b still in the set of known nodes")
	}
	if err := c.Close(); err != nil {
		t.Fatalf("close c: %v", err)
	}
	if got := fmt.Sprint(liveIDs(t, s)); got != "[a]" {
		t.Fatalf("live nodes after c closed %s, want [a]", got)
	}
	if _, err := s.Node(context.Background(), "b"); !errors.Is(err, ErrNoNode) {
		t.Fatalf("Node(b) of a dead node: %v, want ErrNoNode", err)
	}
	_ = a
}

// One node holds a room at a time: a second claim returns the holder,
// renewals keep the lease past its TTL, and when the host stops renewing
// (crashed without releasing) the lease lapses and another node can
// claim the room. Release frees it at once; a node that does not hold it
// cannot release it.
func TestClaimIsExclusiveAndLapsesWithoutRenewal(t *testing.T) {
	srv := redistest.New(t)
	s := openStore(t, srv.Addr())
	a, b := join(t, s, "a"), join(t, s, "b")
	ctx := context.Background()
	const room = RoomID(1234)

	if h, err := a.Claim(ctx, room); err != nil || h != "a" {
		t.Fatalf("a claims: %q %v", h, err)
	}
	if h, err := b.Claim(ctx, room); err != nil || h != "a" {
		t.Fatalf("b claims a's room: %q %v, want host a", h, err)
	}
	if _, err := s.Claim(ctx, room+1, "nobody"); !errors.Is(err, ErrNoNode) {
		t.Fatalf("claim for a node that is not live: %v, want ErrNoNode", err)
	}
	time.Sleep(2 * s.cfg.LeaseTTL) // renewed meanwhile
	if h, ok, err := s.Host(ctx, room); err != nil || !ok || h != "a" {
		t.Fatalf("host after two lease periods: %q %v %v, want a", h, ok, err)
	}
	if err := b.Release(ctx, room); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("b releases a's room: %v, want ErrNotOwner", err)
	}

	a.halt() // kill -9: no release, no renewal
	eventually(t, s.cfg.LeaseTTL+time.Second, "a's lease lapses", func() bool {
		_, ok, err := s.Host(ctx, room)
		return err == nil && !ok
	})
	if h, err := b.Claim(ctx, room); err != nil || h != "b" {
		t.Fatalf("b claims the freed room: %q %v", h, err)
	}
	if !b.Hosts(room) {
		t.Fatalf("b does not list the room it claimed")
	}
	if err := b.Release(ctx, room); err != nil {
		t.Fatalf("release: %v", err)
	}
	if _, ok, _ := s.Host(ctx, room); ok {
		t.Fatalf("room still has a host after release")
	}
}

// A renewal that finds the lease held by another node reports the room
// (the node must stop hosting it) and stops renewing it.
func TestRenewalReportsLostLease(t *testing.T) {
	srv := redistest.New(t)
	s := openStore(t, srv.Addr())
	lost := make(chan RoomID, 4)
	a := join(t, s, "a", OnLost(func(r RoomID) { lost <- r }))
	ctx := context.Background()
	for _, r := range []RoomID{7, 8} {
		if h, err := a.Claim(ctx, r); err != nil || h != "a" {
			t.Fatalf("claim %d: %q %v", r, h, err)
		}
	}
	// Another node took room 8 (as after a lapse a's renewals missed).
	if err := s.rdb.Set(ctx, s.k.host(8), "b", s.cfg.LeaseTTL).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-lost:
		if r != 8 {
			t.Fatalf("lost room %d, want 8", r)
		}
	case <-time.After(3 * s.cfg.RenewEvery):
		t.Fatalf("no lost lease reported")
	}
	if a.Hosts(8) || !a.Hosts(7) {
		t.Fatalf("a's rooms after the loss: %v, want [7]", a.Rooms())
	}
	if h, _, _ := s.Host(ctx, 8); h != "b" {
		t.Fatalf("room 8's host %q: the renewal must not take it back", h)
	}
	select {
	case r := <-lost:
		t.Fatalf("room %d reported lost again", r)
	case <-time.After(2 * s.cfg.RenewEvery):
	}
}

// threeNodes is a store on a private Redis with nodes a, b and c joined.
func threeNodes(t *testing.T) (*Store, map[NodeID]*Node) {
	t.Helper()
	srv := redistest.New(t)
	s := openStore(t, srv.Addr())
	nodes := map[NodeID]*Node{}
	for _, id := range []NodeID{"a", "b", "c"} {
		nodes[id] = join(t, s, id)
	}
	return s, nodes
}

// Rooms placed one after another, with each node reporting one room more
// when a room lands on it (as a real node does), spread evenly; a
// draining node gets none; with no node taking rooms, ErrNoNode.
func TestPlacementSpreadsByLoad(t *testing.T) {
	s, nodes := threeNodes(t)
	ctx := context.Background()
	count := map[NodeID]int{}
	for r := RoomID(1); r <= 30; r++ {
		host, err := s.Place(ctx, r)
		if err != nil {
			t.Fatalf("place %d: %v", r, err)
		}
		n := nodes[host.ID]
		if h, err := n.Claim(ctx, r); err != nil || h != n.ID() {
			t.Fatalf("%s takes room %d placed on it: %q %v", n.ID(), r, h, err)
		}
		count[host.ID]++
		l := n.Info().Load
		l.Rooms++
		l.Participants += 2
		if err := n.SetLoad(ctx, l); err != nil {
			t.Fatal(err)
		}
		// Placing it again returns the same host.
		if again, err := s.Place(ctx, r); err != nil || again.ID != host.ID {
			t.Fatalf("place %d again: %q %v, want %q", r, again.ID, err, host.ID)
		}
	}
	t.Logf("rooms per node: %v", count)
	for id, c := range count {
		if c > 14 {
			t.Errorf("node %s holds %d of 30 rooms (more than 14)", id, c)
		}
	}
	if len(count) != 3 {
		t.Errorf("rooms landed on %d nodes, want 3", len(count))
	}

	// A loaded video node loses to a node with more, cheaper rooms.
	if err := nodes["a"].SetLoad(ctx, Load{Rooms: 1, VideoRooms: 1, VideoWeight: 40, CPU: 0.5}); err != nil {
		t.Fatal(err)
	}
	if err := nodes["c"].SetDraining(ctx, true); err != nil {
		t.Fatal(err)
	}
	host, err := s.Place(ctx, 100)
	if err != nil || host.ID != "b" {
		t.Fatalf("place with a busy with video and c draining: %q %v, want b", host.ID, err)
	}
	if _, err := nodes["c"].Claim(ctx, 101); !errors.Is(err, ErrDraining) {
		t.Fatalf("draining node claims a new room: %v, want ErrDraining", err)
	}
	for _, id := range []NodeID{"a", "b"} {
		if err := nodes[id].SetDraining(ctx, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Place(ctx, 102); !errors.Is(err, ErrNoNode) {
		t.Fatalf("place with every node draining: %v, want ErrNoNode", err)
	}
}

// A burst of placements faster than nodes report their load still
// spreads: each placement counts on its node until that node's next
// load report, which clears the count.
func TestPlacementBurstSpreads(t *testing.T) {
	s, nodes := threeNodes(t)
	ctx := context.Background()
	count := map[NodeID]int{}
	for r := RoomID(1); r <= 30; r++ {
		host, err := s.Place(ctx, r)
		if err != nil {
			t.Fatalf("place %d: %v", r, err)
		}
		count[host.ID]++
	}
	if count["a"] != 10 || count["b"] != 10 || count["c"] != 10 {
		t.Fatalf("30 rooms placed with no load report in between: %v, want 10 each", count)
	}
	// a reports its ten rooms: the pending count is cleared, not added.
	if err := nodes["a"].SetLoad(ctx, Load{Rooms: 10}); err != nil {
		t.Fatal(err)
	}
	if err := nodes["b"].SetLoad(ctx, Load{Rooms: 10}); err != nil {
		t.Fatal(err)
	}
	if err := nodes["c"].SetLoad(ctx, Load{Rooms: 11}); err != nil {
		t.Fatal(err)
	}
	if host, err := s.Place(ctx, 31); err != nil || host.ID != "a" {
		t.Fatalf("place after the reports: %q %v, want a", host.ID, err)
	}
}

// Concurrent placements of one room, through separate connections (as
// from different nodes), return one host.
func TestConcurrentPlaceAgrees(t *testing.T) {
	srv := redistest.New(t)
	stores := []*Store{openStore(t, srv.Addr()), openStore(t, srv.Addr()), openStore(t, srv.Addr())}
	for i, id := range []NodeID{"a", "b", "c"} {
		n := join(t, stores[i], id)
		// Equal scores with different room counts and IDs, so views and
		// tie-breaks are exercised, not just one obvious winner.
		if err := n.SetLoad(context.Background(), Load{Rooms: 2 - i, Participants: i}); err != nil {
			t.Fatal(err)
		}
	}
	const callers = 9
	for r := RoomID(1); r <= 20; r++ {
		var wg sync.WaitGroup
		hosts := make([]NodeID, callers)
		errs := make([]error, callers)
		start := make(chan struct{})
		for i := range callers {
			wg.Go(func() {
				<-start
				n, err := stores[i%len(stores)].Place(context.Background(), r)
				hosts[i], errs[i] = n.ID, err
			})
		}
		close(start)
		wg.Wait()
		for i := range callers {
			if errs[i] != nil {
				t.Fatalf("room %d caller %d: %v", r, i, errs[i])
			}
			if hosts[i] != hosts[0] {
				t.Fatalf("room %d placed on %v by concurrent callers", r, hosts)
			}
		}
		if h, _, _ := stores[0].Host(context.Background(), r); h != hosts[0] {
			t.Fatalf("room %d: directory says %q, placement said %q", r, h, hosts[0])
		}
	}
}

// Room configurations round-trip, are listed, and can be created only
// once and deleted.
func TestRoomConfigStore(t *testing.T) {
	srv := redistest.New(t)
	s := openStore(t, srv.Addr())
	ctx := context.Background()
	cfg := json.RawMessage(`{"description":"Demo","secret":"s3","pin":"1234","permanent":true}`)
	if err := s.CreateRoom(ctx, 1234, cfg); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRoom(ctx, 1234, cfg); !errors.Is(err, ErrRoomExists) {
		t.Fatalf("second create: %v, want ErrRoomExists", err)
	}
	if err := s.SaveRoom(ctx, 42, json.RawMessage(`{"description":"Other"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRoom(ctx, 7, json.RawMessage(`{not json`)); err == nil {
		t.Fatalf("a configuration that is not JSON was stored")
	}
	got, err := s.LoadRoom(ctx, 1234)
	if err != nil || string(got) != string(cfg) {
		t.Fatalf("load: %s %v", got, err)
	}
	if err := s.SaveRoom(ctx, 1234, json.RawMessage(`{"description":"Renamed"}`)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LoadRoom(ctx, 1234); string(got) != `{"description":"Renamed"}` {
		t.Fatalf("after save: %s", got)
	}
	// Another connection (another node) sees the same rooms.
	other := openStore(t, srv.Addr())
	if ids, err := other.RoomIDs(ctx); err != nil || fmt.Sprint(ids) != "[42 1234]" {
		t.Fatalf("room IDs: %v %v, want [42 1234]", ids, err)
	}
	if err := other.DeleteRoom(ctx, 42); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRoom(ctx, 42); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("second delete: %v, want ErrNoRoom", err)
	}
	if _, err := s.LoadRoom(ctx, 42); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("load of a deleted room: %v, want ErrNoRoom", err)
	}
	if ids, _ := s.RoomIDs(ctx); fmt.Sprint(ids) != "[1234]" {
		t.Fatalf("room IDs after delete: %v", ids)
	}
}
