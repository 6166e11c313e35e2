package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/redistest"
)

// A request reaches the named node's handler and its reply comes back;
// a handler's error, an unknown method, a reply that does not come in
// time and a node that is gone are each told apart.
func TestBusRequestReply(t *testing.T) {
	srv := redistest.New(t)
	s := openStore(t, srv.Addr())
	a, b := join(t, s, "a"), join(t, s, "b")
	a.Serve("echo", HandlerFunc(func(_ context.Context, from NodeID, body []byte) ([]byte, error) {
		return []byte(string(from) + ":" + string(body)), nil
	}))
	a.Serve("fail", HandlerFunc(func(context.Context, NodeID, []byte) ([]byte, error) {
		return nil, errors.New("room is full")
	}))
	a.Serve("slow", HandlerFunc(func(ctx context.Context, _ NodeID, _ []byte) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	ctx := context.Background()
	for i := range 20 {
		body := fmt.Sprintf("join %d", i)
		got, err := b.Request(ctx, "a", "echo", []byte(body))
		if err != nil || string(got) != "b:"+body {
			t.Fatalf("echo %d: %q %v", i, got, err)
		}
	}
	if _, err := b.Request(ctx, "a", "fail", nil); !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), "room is full") {
		t.Fatalf("failing handler: %v, want ErrRemote with its text", err)
	}
	if _, err := b.Request(ctx, "a", "nosuch", nil); !errors.Is(err, ErrRemote) {
		t.Fatalf("unknown method: %v, want ErrRemote", err)
	}
	// Every request sent is counted where it went out and where it was
	// answered (a reply comes after the count), each once.
	if got := b.Stats().RequestsSent; got != 22 {
		t.Errorf("b counts %d requests sent, want 22", got)
	}
	if got := a.Stats().RequestsServed; got != 22 {
		t.Errorf("a counts %d requests served, want 22", got)
	}
	if got := a.Stats().RequestsSent + b.Stats().RequestsServed; got != 0 {
		t.Errorf("counted %d requests the other way, want 0", got)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := b.Request(short, "a", "slow", nil); !errors.Is(err, ErrNoReply) {
		t.Fatalf("slow handler: %v, want ErrNoReply", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("request with a 300 ms deadline took %v", d)
	}

	a.halt() // gone without a word
	start = time.Now()
	if _, err := b.Request(ctx, "a", "echo", nil); !errors.Is(err, ErrNoNode) {
		t.Fatalf("request to a node that is gone: %v, want ErrNoNode", err)
	}
	if d := time.Since(start); d > s.cfg.RequestTimeout {
		t.Fatalf("request to a gone node took %v", d)
	}
}

// A room's events reach every subscriber on every node in order; a
// subscriber that does not read loses events beyond its queue, counted,
// without holding up the others; closing ends the stream.
func TestRoomEvents(t *testing.T) {
	srv := redistest.New(t)
	s := openStore(t, srv.Addr())
	a, b := join(t, s, "a"), join(t, s, "b")
	ctx := context.Background()
	const room = RoomID(5)
	subA, err := a.Subscribe(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	subB, err := b.Subscribe(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	stalled, err := b.Subscribe(ctx, room) // never read
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.Subscribe(ctx, room+1)
	if err != nil {
		t.Fatal(err)
	}
	// subA and subB read as events come; stalled never does. Events are
	// published in batches that fit in a queue, and the next batch waits
	// until both readers have everything so far: a reader slowed by a
	// busy machine must not count as one that does not read.
	const n = eventQueue + 20
	const batch = eventQueue / 2
	var read [2]atomic.Int64
	got := make([]chan []string, 2)
	for i, sub := range []*Subscription{subA, subB} {
		got[i] = make(chan []string, 1)
		go func() {
			var seen []string
			timeout := time.After(10 * time.Second)
			for len(seen) < n {
				select {
				case e := <-sub.Events():
					seen = append(seen, string(e))
					read[i].Store(int64(len(seen)))
				case <-timeout:
					got[i] <- seen
					return
				}
			}
			got[i] <- seen
		}()
	}
	var want []string
	for i := range n {
		if i > 0 && i%batch == 0 {
			deadline := time.Now().Add(5 * time.Second)
			for (read[0].Load() < int64(i) || read[1].Load() < int64(i)) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		}
		want = append(want, fmt.Sprint(i))
		if err := s.Publish(ctx, room, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range got {
		if seen := <-got[i]; fmt.Sprint(seen) != fmt.Sprint(want) {
			t.Fatalf("subscriber %d got %d events %v, want %d in order", i, len(seen), seen, n)
		}
	}
	if d := stalled.Dropped(); d != n-eventQueue {
		t.Errorf("stalled subscriber dropped %d, want %d", d, n-eventQueue)
	}
	if d := b.Stats().EventsDropped; d != n-eventQueue {
		t.Errorf("node counts %d dropped events, want %d", d, n-eventQueue)
	}
	// Each event message is counted once per node, however many of the
	// node's subscribers share it.
	if a.Stats().EventsReceived != n || b.Stats().EventsReceived != n {
		t.Errorf("events received: a %d, b %d, want %d each", a.Stats().EventsReceived, b.Stats().EventsReceived, n)
	}
	select {
	case e := <-other.Events():
		t.Fatalf("another room's subscriber got %q", e)
	default:
	}
	subB.Close()
	if _, ok := <-subB.Events(); ok {
		t.Fatalf("events after Close")
	}
	b.Close()
	for range eventQueue {
		<-stalled.Events()
	}
	if _, ok := <-stalled.Events(); ok {
		t.Fatalf("a subscription outlives its node")
	}
}
