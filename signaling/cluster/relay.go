package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tessera-mcu/tessera/room"
	rc "github.com/tessera-mcu/tessera/room/cluster"
	"github.com/tessera-mcu/tessera/signaling/janus"
)

// The origin's side: the node holding a client's Janus session runs its
// handles' requests here, on the local plugin session or on the node
// that hosts the room, and hands the host's events to the client.

// wrapper is a plugin in cluster mode.
type wrapper struct {
	c     *Cluster
	inner janus.Plugin
	key   string
}

var _ janus.Plugin = (*wrapper)(nil)

// Package implements janus.Plugin.
func (w *wrapper) Package() string { return w.inner.Package() }

// Info implements janus.Plugin.
func (w *wrapper) Info() janus.PluginInfo { return w.inner.Info() }

// Attach implements janus.Plugin: the handle gets a local plugin session
// at once; a session on another node only when it joins a room there.
func (w *wrapper) Attach(h janus.HandleContext) (janus.PluginSession, error) {
	s := &relaySession{w: w, h: h}
	ps, err := w.inner.Attach(localHandle{HandleContext: h, s: s})
	if err != nil {
		return nil, err
	}
	s.inner = ps
	return s, nil
}

// relayKey names one of this node's handles.
type relayKey struct {
	plugin          string
	session, handle uint64
}

// binding is a handle's tie to the node hosting its room.
type binding struct {
	token uint64
	host  rc.NodeID
	room  rc.RoomID
	pid   uint64
	// pending: the join is on its way; events already count.
	pending bool
	// media: the host answered an offer, and no hangup came since.
	media bool
	// seqMu guards delivered and progress.
	seqMu sync.Mutex
	// delivered is the last event handed to the client.
	delivered uint64
	progress  chan struct{} // closed and replaced as events are delivered
}

// relaySession is one handle of a wrapped plugin on its origin.
type relaySession struct {
	w     *wrapper
	h     janus.HandleContext
	inner janus.PluginSession

	// deliverMu orders the host's events with the end of the binding.
	deliverMu sync.Mutex

	mu   sync.Mutex
	bind *binding
	// localRoom and localPid: the handle joined a room hosted here
	// (as the local plugin answered), 0 when not.
	localRoom, localPid uint64
}

var _ janus.PluginSession = (*relaySession)(nil)

func (s *relaySession) key() relayKey {
	return relayKey{plugin: s.w.inner.Package(), session: s.h.SessionID(), handle: s.h.ID()}
}

// host is the node the handle is bound to ("" none).
func (s *relaySession) host() rc.NodeID {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bind == nil {
		return ""
	}
	return s.bind.host
}

func (s *relaySession) bound() *binding {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bind == nil || s.bind.pending {
		return nil
	}
	return s.bind
}

// Async implements janus.PluginSession: as the plugin answers (it is the
// same on every node).
func (s *relaySession) Async(body json.RawMessage) bool { return s.inner.Async(body) }

// Handle implements janus.PluginSession: a bound handle's requests go to
// its host; others by their room (see the package doc).
func (s *relaySession) Handle(ctx context.Context, body json.RawMessage, jsep *janus.JSEP) (any, *janus.JSEP) {
	c := s.w.c
	req, id, hasRoom := peek(body)
	if req == "create" && !hasRoom {
		id, hasRoom = randomRoomID(), true
		if body = withRoom(body, id); body == nil {
			return errorData(s.w.key, codeUnknownError, "Cannot pick a room ID"), nil
		}
	}
	switch {
	case req == "list" && !hasRoom:
		return s.w.list(ctx), nil
	case req == "exists" && hasRoom:
		return s.w.exists(ctx, rc.RoomID(id)), nil
	}
	// A bound handle's own requests, and those about its room, go to its
	// host; those about other rooms are routed as anyone's.
	if b := s.bound(); b != nil && (!hasRoom || rc.RoomID(id) == b.room || req == "join" || req == "changeroom") {
		return s.forward(ctx, b.host, b.room, body, jsep, true)
	}
	if !hasRoom {
		return s.local(ctx, req, body, jsep)
	}
	if (req == "join" || req == "changeroom") && s.joinedHere() {
		return s.local(ctx, req, body, jsep) // the plugin answers: already in a room
	}
	host, err := c.hostFor(ctx, req, rc.RoomID(id))
	if err != nil {
		return errorData(s.w.key, codeUnknownError, fmt.Sprintf("Room %d cannot be reached now: %v", id, err)), nil
	}
	if host == c.node.ID() {
		return s.local(ctx, req, body, jsep)
	}
	return s.forward(ctx, host, rc.RoomID(id), body, jsep, false)
}

// withRoom sets a request body's room.
func withRoom(body json.RawMessage, id uint64) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	m["room"], _ = json.Marshal(id)
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return b
}

func (s *relaySession) joinedHere() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.localRoom != 0
}

// local runs a request on the local plugin session, and keeps what the
// cluster needs of its answer.
func (s *relaySession) local(ctx context.Context, req string, body json.RawMessage, jsep *janus.JSEP) (any, *janus.JSEP) {
	data, ans := s.inner.Handle(ctx, body, jsep)
	switch req {
	case "join", "changeroom", "leave", "create", "edit":
	default:
		return data, ans
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return data, ans
	}
	a := readAnswer(s.w.key, raw)
	switch a.kind {
	case "joined", "roomchanged":
		s.mu.Lock()
		s.localRoom, s.localPid = a.room, a.id
		s.mu.Unlock()
	case "left":
		s.mu.Lock()
		s.localRoom, s.localPid = 0, 0
		s.mu.Unlock()
	}
	s.w.c.afterLocal(ctx, s.w, req, body, a)
	return data, ans
}

// afterLocal stores what a create or edit the plugin answered on this
// node changed in a room's stored configuration.
func (c *Cluster) afterLocal(ctx context.Context, w *wrapper, req string, body json.RawMessage, a answer) {
	if (req != "create" || a.kind != "created") && (req != "edit" || a.kind != "edited") {
		return
	}
	var f struct {
		Private    *bool `json:"is_private"`
		NewPrivate *bool `json:"new_is_private"`
	}
	_ = json.Unmarshal(body, &f)
	private := f.Private
	if req == "edit" {
		private = f.NewPrivate
	}
	if req == "create" && private == nil {
		return // the stored configuration is the created one
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	if err := c.rooms.saved(ctx, roomID(a.room), private); err != nil {
		c.log.Warn("cluster: room's changed configuration not stored", "room", a.room, "request", req, "err", err)
	}
}

// hostFor finds the node to run a request on a room: its host, or, for a
// create or a room whose configuration is stored but which no node
// hosts, the node placement picks. A room with no configuration (and not
// being created) is this node's to answer ("no such room"), and so is a
// room open here while Redis cannot be reached.
func (c *Cluster) hostFor(ctx context.Context, req string, id rc.RoomID) (rc.NodeID, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	host, ok, err := c.store.Host(ctx, id)
	if err != nil {
		if _, open := c.opts.Rooms.Get(room.RoomID(id)); open == nil && req != "create" {
			// Redis is away: a room running here goes on taking its
			// clients' requests (joins included).
			return c.node.ID(), nil
		}
		return "", err
	}
	if ok {
		if host == c.node.ID() {
			return host, nil
		}
		if _, err := c.store.Node(ctx, host); err != nil {
			return "", fmt.Errorf("%w: %s hosts it (%w); try again once its lease lapses", ErrHostLost, host, err)
		}
		return host, nil
	}
	if req != "create" {
		if _, err := c.store.LoadRoom(ctx, id); errors.Is(err, rc.ErrNoRoom) {
			return c.node.ID(), nil
		} else if err != nil {
			return "", err
		}
	}
	info, err := c.store.Place(ctx, id)
	if err != nil {
		return "", err
	}
	return info.ID, nil
}

// forward runs a request on the room's host. A join that the host keeps
// binds the handle to it; a bound handle the host lets go (leave) is
// unbound.
func (s *relaySession) forward(ctx context.Context, host rc.NodeID, id rc.RoomID, body json.RawMessage,
	jsep *janus.JSEP, isBound bool) (any, *janus.JSEP) {
	c := s.w.c
	req, _, _ := peek(body)
	binds := !isBound && (req == "join" || req == "changeroom")
	var b *binding
	if binds {
		// Listen to the room's events before the host can send any.
		b = &binding{token: c.tokens.Add(1), host: host, room: id, pending: true, progress: make(chan struct{})}
		if err := s.bindTo(ctx, b); err != nil {
			return errorData(s.w.key, codeUnknownError, fmt.Sprintf("Room %d cannot be reached now: %v", id, err)), nil
		}
	} else if isBound {
		b = s.bound()
	}
	msg := messageRequest{handleRef: s.ref(b, id, isBound), Body: body, JSEP: jsep, Client: janus.ClientAddr(ctx)}
	var rep messageReply
	err := c.request(ctx, host, methodMessage, msg, &rep)
	if err == nil && rep.Gone {
		err = fmt.Errorf("%w: %w", ErrHostLost, errGone)
	}
	if err != nil {
		if b != nil && (isBound || unreachable(err)) {
			s.hostLost(b, fmt.Errorf("%w: %s: %w", ErrHostLost, host, err))
		} else if b != nil {
			s.unbind(b)
		}
		return errorData(s.w.key, codeUnknownError, fmt.Sprintf("Room %d: its host %s cannot be reached: %v", id, host, err)), nil
	}
	if b != nil {
		b.waitDelivered(rep.Seq, waitFor)
		s.mu.Lock()
		if s.bind == b {
			if rep.JSEP != nil {
				b.media = true
			}
			if a := readAnswer(s.w.key, rep.Data); a.kind == "joined" || a.kind == "roomchanged" {
				b.pid = a.id
			}
			b.pending = false
		}
		s.mu.Unlock()
		if !rep.Bound {
			s.unbind(b)
		}
	}
	return rep.Data, rep.JSEP
}

// ref names the handle, and its binding b (nil: none), to its host.
func (s *relaySession) ref(b *binding, id rc.RoomID, bound bool) handleRef {
	r := handleRef{Plugin: s.w.inner.Package(), Session: s.h.SessionID(), Handle: s.h.ID(), Room: id, Bound: bound}
	if b != nil {
		r.Token = b.token
	}
	return r
}

// bindTo binds the handle (pending its join) and subscribes to the
// room's events.
func (s *relaySession) bindTo(ctx context.Context, b *binding) error {
	c := s.w.c
	if err := c.subscribe(ctx, b.room); err != nil {
		return err
	}
	s.mu.Lock()
	s.bind = b
	s.mu.Unlock()
	c.mu.Lock()
	c.relays[s.key()] = s
	c.mu.Unlock()
	return nil
}

// unbind ends binding b if it is still the handle's.
func (s *relaySession) unbind(b *binding) bool {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	return s.unbindLocked(b)
}

func (s *relaySession) unbindLocked(b *binding) bool {
	s.mu.Lock()
	if s.bind != b || b == nil {
		s.mu.Unlock()
		return false
	}
	s.bind = nil
	s.mu.Unlock()
	c := s.w.c
	c.mu.Lock()
	if c.relays[s.key()] == s {
		delete(c.relays, s.key())
	}
	c.mu.Unlock()
	c.unsubscribe(b.room)
	return true
}

// hostLost ends the handle's binding (b, or whichever it has when nil)
// because its host cannot be reached: the client is told what a Janus
// client is told when its room goes away — a hangup when it had media,
// and that its participant left the room:
//
//	{"<key>": "event", "room": <room>, "leaving": <its id>, "reason": "host lost"}
//
// A host that may still be alive is told to let the handle go.
func (s *relaySession) hostLost(b *binding, why error) {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	if b == nil {
		s.mu.Lock()
		b = s.bind
		s.mu.Unlock()
	}
	if b == nil || !s.unbindLocked(b) {
		return
	}
	c := s.w.c
	c.stats.hostsLost.Add(1)
	c.logs.lost.Warn(c.log, "cluster: relayed handle's room host lost", "host", string(b.host), "room", uint64(b.room), "err", why)
	s.mu.Lock()
	media, pid := b.media, b.pid
	s.mu.Unlock()
	if media {
		s.h.HangupEvent("Room host lost")
	}
	if pid != 0 {
		s.h.Event(janus.M{s.w.key: "event", "room": uint64(b.room), "leaving": pid, "reason": "host lost"}, nil)
	}
	if !errors.Is(why, rc.ErrNoNode) && !errors.Is(why, errGone) {
		ref := s.ref(b, b.room, true)
		c.goTracked(func() {
			var rep handleReply
			_ = c.request(c.ctx, b.host, methodDetach, ref, &rep)
		})
	}
}

// waitDelivered waits up to d until the events up to seq were delivered.
func (b *binding) waitDelivered(seq uint64, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		b.seqMu.Lock()
		done, ch := b.delivered >= seq, b.progress
		b.seqMu.Unlock()
		if done {
			return
		}
		select {
		case <-ch:
		case <-t.C:
			return
		}
	}
}

// deliver hands a host's events to the client, in order; events from a
// host the handle is not bound to are ignored.
func (s *relaySession) deliver(bt *batch) {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	s.mu.Lock()
	b := s.bind
	s.mu.Unlock()
	if b == nil || b.host != bt.Host || b.token != bt.Token {
		return
	}
	c := s.w.c
	for _, e := range bt.Events {
		b.seqMu.Lock()
		last := b.delivered
		b.seqMu.Unlock()
		if e.Seq <= last {
			continue // already delivered
		}
		if e.Seq > last+1 {
			n := c.stats.eventsLost.Add(e.Seq - last - 1)
			c.logs.lost.Warn(c.log, "cluster: relayed handle's events lost", "host", string(b.host), "room", uint64(b.room), "lost", n)
		}
		if s.ends(b, e) {
			// Unbound before the client hears it: its next request
			// is routed afresh.
			s.unbindLocked(b)
			s.deliverOne(b, e)
			return
		}
		unbound := s.deliverOne(b, e)
		b.seqMu.Lock()
		b.delivered = e.Seq
		close(b.progress)
		b.progress = make(chan struct{})
		b.seqMu.Unlock()
		if unbound {
			s.unbindLocked(b)
			return
		}
	}
}

// ends reports whether e ends the handle's participant on its host: its
// kick, or its room's end.
func (s *relaySession) ends(b *binding, e relayEvent) bool {
	if e.Kind != kindEvent {
		return false
	}
	s.mu.Lock()
	pid := b.pid
	s.mu.Unlock()
	a := readAnswer(s.w.key, e.Data)
	return a.kind == "destroyed" || (a.kicked != 0 && a.kicked == pid)
}

// deliverOne hands one event to the client; true: the host let the
// handle go.
func (s *relaySession) deliverOne(b *binding, e relayEvent) bool {
	switch e.Kind {
	case kindEvent:
		s.h.Event(e.Data, e.JSEP)
	case kindWebRTCUp:
		s.h.WebRTCUp()
	case kindMedia:
		s.h.Media(e.Mid, e.Media, e.Receiving)
	case kindHangup:
		s.mu.Lock()
		b.media = false
		s.mu.Unlock()
		s.h.HangupEvent(e.Reason)
	case kindSlowLink:
		s.h.SlowLink(e.Mid, e.Media, e.Uplink, e.Lost)
	case kindNotify:
		s.h.Notify(e.Data)
	case kindUnbound:
		return true
	}
	return false
}

// Trickle implements janus.PluginSession.
func (s *relaySession) Trickle(ctx context.Context, cs []janus.Candidate) error {
	b := s.bound()
	if b == nil {
		return s.inner.Trickle(ctx, cs)
	}
	var rep handleReply
	err := s.w.c.request(ctx, b.host, methodTrickle, trickleRequest{handleRef: s.ref(b, b.room, true), Candidates: cs}, &rep)
	if err == nil && rep.Gone {
		err = errGone
	}
	if err != nil {
		s.hostLost(b, fmt.Errorf("%w: %s: %w", ErrHostLost, b.host, err))
		return err
	}
	b.waitDelivered(rep.Seq, waitFor)
	if rep.Err != "" {
		return errors.New(rep.Err)
	}
	return nil
}

// Hangup implements janus.PluginSession.
func (s *relaySession) Hangup(ctx context.Context) {
	b := s.bound()
	if b == nil {
		s.inner.Hangup(ctx)
		return
	}
	var rep handleReply
	err := s.w.c.request(ctx, b.host, methodHangup, s.ref(b, b.room, true), &rep)
	if err == nil && rep.Gone {
		err = errGone
	}
	if err != nil {
		s.hostLost(b, fmt.Errorf("%w: %s: %w", ErrHostLost, b.host, err))
		return
	}
	b.waitDelivered(rep.Seq, waitFor)
}

// Detach implements janus.PluginSession: the host lets the handle go
// (what it says last, a hangup, reaches the client first), then the
// local session detaches.
func (s *relaySession) Detach(ctx context.Context) {
	if b := s.bound(); b != nil {
		var rep handleReply
		if err := s.w.c.request(ctx, b.host, methodDetach, s.ref(b, b.room, true), &rep); err == nil {
			b.waitDelivered(rep.Seq, waitFor)
			s.unbind(b)
		} else {
			s.hostLost(b, fmt.Errorf("%w: %s: %w", ErrHostLost, b.host, err))
		}
	}
	s.inner.Detach(ctx)
}

// localHandle is the HandleContext of a handle's local plugin session: the
// client's, watching whether the handle is still in a room hosted here.
type localHandle struct {
	janus.HandleContext
	s *relaySession
}

// Event implements janus.HandleContext.
func (l localHandle) Event(data any, jsep *janus.JSEP) {
	s := l.s
	s.mu.Lock()
	in, pid := s.localRoom != 0, s.localPid
	s.mu.Unlock()
	if in {
		if raw, err := json.Marshal(data); err == nil {
			if a := readAnswer(s.w.key, raw); a.kind == "destroyed" || (a.kicked != 0 && a.kicked == pid) {
				s.mu.Lock()
				s.localRoom, s.localPid = 0, 0
				s.mu.Unlock()
			}
		}
	}
	l.HandleContext.Event(data, jsep)
}
