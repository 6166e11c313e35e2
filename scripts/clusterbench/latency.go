package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// settle is how long after a peer connected (or its session closed) the
// bus is still counted for it: the host's follow-up events (webrtcup,
// media) go out after the connection.
const settle = 500 * time.Millisecond

// joinKind is direct (session on the host) or relayed.
type joinKind struct {
	name      string
	via       node
	answers   []time.Duration
	connected []time.Duration
	join      []busCount // what went over the bus for each join
	leave     []busCount
}

// latency times joins of one room through its host and through another
// node, interleaved, and counts the bus messages of each.
func (b *bench) latency(joins int) error {
	room := roomBase() + 1
	hostID, err := b.createRoom(b.nodes[min(1, len(b.nodes)-1)], room)
	if err != nil {
		return fmt.Errorf("creating the latency room: %w", err)
	}
	host, ok := b.node(hostID)
	if !ok {
		return fmt.Errorf("room %d is on node %s, which is not under test", room, hostID)
	}
	var origin node
	for _, n := range b.nodes {
		if n.id != host.id {
			origin = n
			break
		}
	}
	kinds := []*joinKind{
		{name: "direct", via: host},
		{name: "relayed", via: origin},
	}
	for i := range 2 * joins {
		k := kinds[i%2]
		if err := b.timeJoin(k, room, i); err != nil {
			return fmt.Errorf("%s join %d: %w", k.name, i/2, err)
		}
	}
	fmt.Printf("### Join latency and bus messages (room %d on node %s, %d joins each, interleaved)\n\n", room, host.id, joins)
	fmt.Printf("| join | session on | answer p50 (ms) | answer p95 (ms) | connected p50 (ms) | connected p95 (ms) | bus messages per join (requests + replies + events) | bus bytes per join | bus messages per leave |\n")
	fmt.Printf("|---|---|---:|---:|---:|---:|---|---:|---:|\n")
	for _, k := range kinds {
		slices.Sort(k.answers)
		slices.Sort(k.connected)
		j, l := meanCount(k.join), meanCount(k.leave)
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %.1f (%.1f + %.1f + %.1f) | %.0f | %.1f |\n", k.name, k.via.id,
			ms(pct(k.answers, 0.5)), ms(pct(k.answers, 0.95)), ms(pct(k.connected, 0.5)), ms(pct(k.connected, 0.95)),
			j.messages, j.requests, j.replies, j.events, j.bytes, l.messages)
	}
	fmt.Println()
	// The room goes, so that placement starts from empty nodes.
	j, err := dial(host.addr, plugin)
	if err != nil {
		return err
	}
	defer j.close()
	if _, err := j.message(map[string]any{"request": "destroy", "room": room}); err != nil {
		return fmt.Errorf("destroying the latency room: %w", err)
	}
	return nil
}

// timeJoin joins room through k's node, times it, counts the bus, and
// leaves (session closed).
func (b *bench) timeJoin(k *joinKind, room uint64, i int) error {
	j, err := dial(k.via.addr, plugin)
	if err != nil {
		return err
	}
	c0 := b.obs.count()
	t, err := j.join(room, fmt.Sprintf("%s%d", k.name, i), testpeer.Options{ToneHz: 440, Amplitude: 0.05})
	if err != nil {
		j.close()
		return err
	}
	time.Sleep(settle)
	c1 := b.obs.count()
	j.close()
	time.Sleep(settle)
	c2 := b.obs.count()
	k.answers = append(k.answers, t.answer)
	k.connected = append(k.connected, t.connected)
	k.join = append(k.join, c1.sub(c0))
	k.leave = append(k.leave, c2.sub(c1))
	return nil
}

type countMean struct{ messages, requests, replies, events, bytes float64 }

func meanCount(cs []busCount) countMean {
	var m countMean
	if len(cs) == 0 {
		return m
	}
	for _, c := range cs {
		m.messages += float64(c.messages())
		m.requests += float64(c.requests)
		m.replies += float64(c.replies)
		m.events += float64(c.events)
		m.bytes += float64(c.all)
	}
	n := float64(len(cs))
	return countMean{m.messages / n, m.requests / n, m.replies / n, m.events / n, m.bytes / n}
}
