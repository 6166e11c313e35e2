package cluster

import (
	"context"
	"encoding/json"

	rc "github.com/tessera-mcu/tessera/room/cluster"
)

// roomSub is this node's subscription to one room's event channel, held
// while some of its handles are bound to the room, and read by one
// goroutine that hands each relayed batch to its handle.
type roomSub struct {
	sub  *rc.Subscription
	refs int
}

// subscribe takes a reference on the room's subscription, subscribing
// (and starting its reader) for the first.
func (c *Cluster) subscribe(ctx context.Context, id rc.RoomID) error {
	c.subsMu.Lock()
	defer c.subsMu.Unlock()
	if s := c.subs[id]; s != nil {
		s.refs++
		return nil
	}
	if c.closed.Load() {
		return rc.ErrClosed
	}
	sub, err := c.node.Subscribe(ctx, id)
	if err != nil {
		return err
	}
	c.subs[id] = &roomSub{sub: sub, refs: 1}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for b := range sub.Events() {
			c.dispatch(b)
		}
	}()
	return nil
}

// unsubscribe drops a reference; the last ends the subscription.
func (c *Cluster) unsubscribe(id rc.RoomID) {
	c.subsMu.Lock()
	defer c.subsMu.Unlock()
	s := c.subs[id]
	if s == nil {
		return
	}
	if s.refs--; s.refs == 0 {
		delete(c.subs, id)
		s.sub.Close()
	}
}

// dispatch hands a batch published on a room's channel to the handle it
// is for, when that handle is this node's.
func (c *Cluster) dispatch(raw []byte) {
	var m relayBatch
	if json.Unmarshal(raw, &m) != nil || m.Relay == nil || m.Relay.Origin != c.node.ID() {
		return
	}
	b := m.Relay
	c.mu.Lock()
	s := c.relays[relayKey{plugin: b.Plugin, session: b.Session, handle: b.Handle}]
	c.mu.Unlock()
	if s != nil {
		s.deliver(b)
	}
}
