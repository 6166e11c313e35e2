package main

import (
	"context"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// busCount is what went over the cluster's pub/sub in a window:
// messages and payload bytes, by kind.
type busCount struct {
	requests, replies, events, other      int
	reqBytes, replyBytes, eventBytes, all int
}

func (c busCount) messages() int { return c.requests + c.replies + c.events + c.other }

func (c busCount) sub(o busCount) busCount {
	return busCount{
		requests: c.requests - o.requests, replies: c.replies - o.replies, events: c.events - o.events, other: c.other - o.other,
		reqBytes: c.reqBytes - o.reqBytes, replyBytes: c.replyBytes - o.replyBytes, eventBytes: c.eventBytes - o.eventBytes, all: c.all - o.all,
	}
}

// observer counts every message published under the cluster's prefix,
// from a pattern subscription of its own: what the nodes send each
// other, seen from Redis's side (it adds a receiver, not a message).
type observer struct {
	ps   *redis.PubSub
	mu   sync.Mutex
	n    busCount
	done chan struct{}
}

func observe(ctx context.Context, rdb *redis.Client, prefix string) (*observer, error) {
	ps := rdb.PSubscribe(ctx, prefix+"*")
	if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
		_ = ps.Close()
		return nil, err
	}
	o := &observer{ps: ps, done: make(chan struct{})}
	go o.run()
	return o, nil
}

func (o *observer) run() {
	defer close(o.done)
	for m := range o.ps.Channel() {
		size := len(m.Payload)
		o.mu.Lock()
		switch {
		case strings.HasSuffix(m.Channel, ":requests"):
			o.n.requests++
			o.n.reqBytes += size
		case strings.HasSuffix(m.Channel, ":replies"):
			o.n.replies++
			o.n.replyBytes += size
		case strings.HasSuffix(m.Channel, ":events"):
			o.n.events++
			o.n.eventBytes += size
		default:
			o.n.other++
		}
		o.n.all += size
		o.mu.Unlock()
	}
}

// count is the total so far.
func (o *observer) count() busCount {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n
}

func (o *observer) close() {
	_ = o.ps.Close()
	<-o.done
}
