package cluster

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	rc "github.com/tessera-mcu/tessera/room/cluster"
	"github.com/tessera-mcu/tessera/signaling/janus"
)

// The host's side of relayed handles: the node that hosts a room runs
// the real plugin session of every handle another node relays to it, and
// sends what that session tells its handle back to the origin.

// hostKey names a hosted handle: its origin node, plugin, session and
// handle IDs there.
type hostKey struct {
	origin          rc.NodeID
	plugin          string
	session, handle uint64
}

// maxBatch bounds the events one published batch carries.
const maxBatch = 64

// hosted is a relayed handle on its room's host: the inner plugin
// session, attached with the hosted handle as its HandleContext, and the
// bounded queue of its events with the goroutine that sends them.
type hosted struct {
	c     *Cluster
	w     *wrapper
	key   hostKey
	room  rc.RoomID
	token uint64
	ps    janus.PluginSession

	// reqMu runs the handle's requests one at a time.
	reqMu sync.Mutex

	mu    sync.Mutex
	queue []relayEvent
	seq   uint64 // the last event's sequence number
	pid   uint64 // the handle's participant, once joined
	ended bool   // the participant ended here: no more requests
	wake  chan struct{}
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
}

var _ janus.HandleContext = (*hosted)(nil)

func newHosted(c *Cluster, w *wrapper, key hostKey, room rc.RoomID, token uint64) *hosted {
	return &hosted{c: c, w: w, key: key, room: room, token: token, wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
}

// ID implements janus.HandleContext: the handle's ID on its origin.
func (h *hosted) ID() uint64 { return h.key.handle }

// SessionID implements janus.HandleContext.
func (h *hosted) SessionID() uint64 { return h.key.session }

// Event implements janus.HandleContext. A kick of the handle's own
// participant, or the end of its room, ends the hosted handle after the
// event is sent.
func (h *hosted) Event(data any, jsep *janus.JSEP) {
	b, err := json.Marshal(data)
	if err != nil {
		return
	}
	h.push(relayEvent{Kind: kindEvent, Data: b, JSEP: jsep})
	a := readAnswer(h.w.key, b)
	h.mu.Lock()
	end := !h.ended && (a.kind == "destroyed" || (a.kicked != 0 && a.kicked == h.pid))
	h.mu.Unlock()
	if end {
		// Not here: this runs on the plugin's forwarder, which the
		// plugin's Detach waits for.
		h.c.goTracked(func() { h.c.endHosted(h, true) })
	}
}

// WebRTCUp implements janus.HandleContext.
func (h *hosted) WebRTCUp() { h.push(relayEvent{Kind: kindWebRTCUp}) }

// Media implements janus.HandleContext.
func (h *hosted) Media(mid, kind string, receiving bool) {
	h.push(relayEvent{Kind: kindMedia, Mid: mid, Media: kind, Receiving: receiving})
}

// HangupEvent implements janus.HandleContext.
func (h *hosted) HangupEvent(reason string) { h.push(relayEvent{Kind: kindHangup, Reason: reason}) }

// SlowLink implements janus.HandleContext.
func (h *hosted) SlowLink(mid, kind string, uplink bool, lost int) {
	h.push(relayEvent{Kind: kindSlowLink, Mid: mid, Media: kind, Uplink: uplink, Lost: lost})
}

// Notify implements janus.HandleContext: the plugin event goes to the
// origin, whose gateway reports it to its event handlers with the
// client's session and handle, in order with the handle's other events.
func (h *hosted) Notify(data any) {
	b, err := json.Marshal(data)
	if err != nil {
		return
	}
	h.push(relayEvent{Kind: kindNotify, Data: b})
}

// push queues an event for the origin, or drops and counts it when the
// queue is full.
func (h *hosted) push(e relayEvent) {
	h.mu.Lock()
	if len(h.queue) >= h.c.opts.EventQueue {
		h.mu.Unlock()
		n := h.c.stats.eventsDropped.Add(1)
		h.c.logs.drop.Warn(h.c.log, "cluster: relayed handle's event queue full; events dropped", "origin", string(h.key.origin),
			"room", uint64(h.room), "dropped", n)
		return
	}
	h.seq++
	e.Seq = h.seq
	h.queue = append(h.queue, e)
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// lastSeq is the sequence number of the last event queued.
func (h *hosted) lastSeq() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

// send publishes the queued events in order until the handle ends, then
// what is left.
func (h *hosted) send() {
	defer close(h.done)
	for {
		select {
		case <-h.wake:
			h.flush()
		case <-h.quit:
			h.flush()
			return
		}
	}
}

func (h *hosted) flush() {
	for {
		h.mu.Lock()
		n := min(len(h.queue), maxBatch)
		if n == 0 {
			h.mu.Unlock()
			return
		}
		evs := append([]relayEvent(nil), h.queue[:n]...)
		h.queue = h.queue[n:]
		h.mu.Unlock()
		b, err := json.Marshal(relayBatch{Relay: &batch{Host: h.c.node.ID(), Origin: h.key.origin, Plugin: h.key.plugin,
			Session: h.key.session, Handle: h.key.handle, Token: h.token, Events: evs}})
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), h.c.opts.RequestTimeout)
		err = h.c.store.Publish(ctx, h.room, b)
		cancel()
		if err != nil {
			n := h.c.stats.publishFailures.Add(1)
			h.c.logs.publish.Warn(h.c.log, "cluster: relayed handle's events not sent", "origin", string(h.key.origin),
				"room", uint64(h.room), "failures", n, "err", err)
		}
	}
}

// stop ends the sender once what is queued is sent, and waits for it.
func (h *hosted) stop() {
	h.once.Do(func() { close(h.quit) })
	<-h.done
}

// endHosted ends a hosted handle: it is forgotten, its plugin session
// detaches (its participant leaves), and what the plugin says last is
// sent; unbound tells the origin to unbind the handle.
func (c *Cluster) endHosted(h *hosted, unbound bool) {
	h.reqMu.Lock()
	defer h.reqMu.Unlock()
	h.mu.Lock()
	if h.ended {
		h.mu.Unlock()
		return
	}
	h.ended = true
	h.mu.Unlock()
	c.mu.Lock()
	if c.hosted[h.key] == h {
		delete(c.hosted, h.key)
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.RequestTimeout)
	h.ps.Detach(ctx)
	cancel()
	if unbound {
		h.push(relayEvent{Kind: kindUnbound})
	}
	h.stop()
}

// attachHosted attaches the plugin's session for a handle relayed from
// origin.
func (c *Cluster) attachHosted(w *wrapper, key hostKey, ref handleRef) (*hosted, error) {
	h := newHosted(c, w, key, ref.Room, ref.Token)
	ps, err := w.inner.Attach(h)
	if err != nil {
		return nil, err
	}
	h.ps = ps
	c.senders.Add(1)
	go func() {
		defer c.senders.Done()
		h.send()
	}()
	return h, nil
}

// lookup finds a hosted handle of a binding (token).
func (c *Cluster) lookup(key hostKey, token uint64) *hosted {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h := c.hosted[key]; h != nil && h.token == token {
		return h
	}
	return nil
}

// serveMessage runs a relayed plugin message. A handle the origin holds
// bound must be known here; any other gets a session for this request,
// kept when the request is a join that succeeds (the origin then binds
// the handle to this node), detached otherwise.
func (c *Cluster) serveMessage(ctx context.Context, from rc.NodeID, body []byte) ([]byte, error) {
	var req messageRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	w, err := c.plugin(req.Plugin)
	if err != nil {
		return nil, err
	}
	key := hostKey{origin: from, plugin: req.Plugin, session: req.Session, handle: req.Handle}
	var h *hosted
	if req.Bound {
		if h = c.lookup(key, req.Token); h == nil {
			return json.Marshal(messageReply{Gone: true})
		}
	}
	fresh := h == nil
	if fresh {
		// A hosted handle of an earlier binding still ending is left to
		// end; this one takes its place once kept.
		if h, err = c.attachHosted(w, key, req.handleRef); err != nil {
			return nil, err
		}
	}
	h.reqMu.Lock()
	if h.isEnded() {
		h.reqMu.Unlock()
		return json.Marshal(messageReply{Gone: true})
	}
	name, _, _ := peek(req.Body)
	data, ans := h.ps.Handle(janus.WithClientAddr(ctx, req.Client), req.Body, req.JSEP)
	raw, err := json.Marshal(data)
	if err != nil {
		h.reqMu.Unlock()
		return nil, err
	}
	a := readAnswer(w.key, raw)
	c.afterLocal(ctx, w, name, req.Body, a)
	keep := !fresh
	switch {
	case a.kind == "joined" || a.kind == "roomchanged":
		keep = true
		h.mu.Lock()
		h.pid = a.id
		h.mu.Unlock()
	case a.kind == "left":
		keep = false
	}
	if fresh && keep {
		c.mu.Lock()
		c.hosted[key] = h
		c.mu.Unlock()
	}
	h.reqMu.Unlock()
	if !keep {
		c.endHosted(h, false)
	}
	return json.Marshal(messageReply{Data: raw, JSEP: ans, Bound: keep, Seq: h.lastSeq()})
}

func (h *hosted) isEnded() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ended
}

// onBound runs f on a bound hosted handle; Gone when it is unknown.
func (c *Cluster) onBound(from rc.NodeID, body []byte, req *handleRef, into any, f func(h *hosted) error) ([]byte, error) {
	if err := json.Unmarshal(body, into); err != nil {
		return nil, err
	}
	h := c.lookup(hostKey{origin: from, plugin: req.Plugin, session: req.Session, handle: req.Handle}, req.Token)
	if h == nil {
		return json.Marshal(handleReply{Gone: true})
	}
	var rep handleReply
	if err := f(h); err != nil {
		rep.Err = err.Error()
	}
	rep.Seq = h.lastSeq()
	return json.Marshal(rep)
}

func (c *Cluster) serveTrickle(ctx context.Context, from rc.NodeID, body []byte) ([]byte, error) {
	var req trickleRequest
	return c.onBound(from, body, &req.handleRef, &req, func(h *hosted) error {
		h.reqMu.Lock()
		defer h.reqMu.Unlock()
		if h.isEnded() {
			return ErrNotRelayed
		}
		return h.ps.Trickle(ctx, req.Candidates)
	})
}

func (c *Cluster) serveHangup(ctx context.Context, from rc.NodeID, body []byte) ([]byte, error) {
	var req handleRef
	return c.onBound(from, body, &req, &req, func(h *hosted) error {
		h.reqMu.Lock()
		defer h.reqMu.Unlock()
		if !h.isEnded() {
			h.ps.Hangup(ctx)
		}
		return nil
	})
}

// serveDetach ends a hosted handle; its plugin's last words (a hangup)
// are sent before the reply.
func (c *Cluster) serveDetach(_ context.Context, from rc.NodeID, body []byte) ([]byte, error) {
	var req handleRef
	return c.onBound(from, body, &req, &req, func(h *hosted) error {
		c.endHosted(h, false)
		return nil
	})
}

// serveList answers another node's list: the plugin's list of the rooms
// open here.
func (c *Cluster) serveList(ctx context.Context, _ rc.NodeID, body []byte) ([]byte, error) {
	var req listRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	w, err := c.plugin(req.Plugin)
	if err != nil {
		return nil, err
	}
	list, err := w.localList(ctx)
	if err != nil {
		return nil, err
	}
	return json.Marshal(listReply{List: list})
}

// waitFor bounds how long an origin waits for the events a reply says
// came before it.
const waitFor = time.Second
