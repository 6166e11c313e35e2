package janus

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/pion/sdp/v3"
	"github.com/tessera-mcu/tessera/room/rtc"
)

// M is an outgoing JSON message.
type M = map[string]any

// Options configures a Gateway.
type Options struct {
	// SessionTimeout destroys sessions idle this long (default 60 s).
	SessionTimeout time.Duration
	// PollTimeout is how long an HTTP long poll waits for an event before
	// answering keepalive (default 30 s).
	PollTimeout time.Duration
	// MaxBody bounds one HTTP request body in bytes (default
	// DefaultMaxBody); a larger one is answered with error 454.
	MaxBody int64
	// WSMaxMessage bounds one incoming WebSocket message in bytes (default
	// DefaultWSMaxMessage); a larger one closes the socket with close code
	// 1009 before it is read.
	WSMaxMessage int64
	// WSSessionWait closes a WebSocket on which no session was created or
	// claimed this long after it opened (default 30 s).
	WSSessionWait time.Duration
	// Version strings reported by info.
	Version string
	Logger  *slog.Logger
}

// Gateway is the Janus core: sessions, handles, request dispatch.
type Gateway struct {
	opts    Options
	log     *slog.Logger
	plugins map[string]Plugin
	started time.Time

	mu       sync.Mutex
	sessions map[uint64]*Session
	closed   bool
	// sockets are the open WebSockets; Close ends them after the
	// sessions, and socketsWG counts their handlers.
	sockets   map[*wsConn]struct{}
	socketsWG sync.WaitGroup

	stop chan struct{}
	// wg counts the reaper and every handle's goroutines.
	wg sync.WaitGroup
}

// NewGateway creates a gateway and starts its session reaper.
func NewGateway(opts Options) *Gateway {
	if opts.SessionTimeout == 0 {
		opts.SessionTimeout = 60 * time.Second
	}
	if opts.PollTimeout == 0 {
		opts.PollTimeout = 30 * time.Second
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.WSMaxMessage <= 0 {
		opts.WSMaxMessage = DefaultWSMaxMessage
	}
	if opts.WSSessionWait <= 0 {
		opts.WSSessionWait = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	g := &Gateway{
		opts: opts, log: opts.Logger, plugins: make(map[string]Plugin),
		sessions: make(map[uint64]*Session), sockets: make(map[*wsConn]struct{}), started: time.Now(), stop: make(chan struct{}),
	}
	g.wg.Add(1)
	go g.reap()
	return g
}

// Register adds a plugin.
func (g *Gateway) Register(p Plugin) { g.plugins[p.Package()] = p }

// Close destroys every session, stops the reaper and returns once every
// handle is detached: its clients have been sent hangup (where a
// PeerConnection existed) and detached. WebSockets are then closed with
// 1001 (going away) after what was queued for them is written.
func (g *Gateway) Close() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	var all []*Session
	for _, s := range g.sessions {
		all = append(all, s)
	}
	g.mu.Unlock()
	for _, s := range all {
		g.destroySession(s, "")
	}
	close(g.stop)
	g.wg.Wait()
	g.mu.Lock()
	for c := range g.sockets {
		c.goAway()
	}
	g.mu.Unlock()
	g.socketsWG.Wait()
}

func (g *Gateway) reap() {
	defer g.wg.Done()
	// Janus checks every 2 s; shorter timeouts (tests) are checked faster.
	t := time.NewTicker(min(2*time.Second, g.opts.SessionTimeout/4))
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case now := <-t.C:
			g.mu.Lock()
			var expired []*Session
			for _, s := range g.sessions {
				if now.Sub(time.Unix(0, s.last.Load())) > g.opts.SessionTimeout {
					expired = append(expired, s)
				}
			}
			g.mu.Unlock()
			for _, s := range expired {
				g.log.Info("session timed out", "session", s.id)
				g.destroySession(s, "timeout")
			}
		}
	}
}

// sink receives a session's events. It must not block.
type sink interface {
	deliver(msg M)
}

// Session is a Janus session.
type Session struct {
	id   uint64
	gw   *Gateway
	last atomic.Int64

	mu        sync.Mutex
	handles   map[uint64]*Handle
	out       sink
	destroyed bool

	// The long-poll queue, used while the session is bound to HTTP.
	poll *pollQueue
}

func (s *Session) touch() { s.last.Store(time.Now().UnixNano()) }

func (s *Session) send(msg M) {
	s.mu.Lock()
	out := s.out
	s.mu.Unlock()
	if out != nil {
		out.deliver(msg)
	}
}

// Handle is a session's attachment to a plugin.
type Handle struct {
	id      uint64
	session *Session
	plugin  Plugin
	ps      PluginSession
	opaque  string

	tasks chan func()
	done  chan struct{}
	once  sync.Once

	// trickled counts the candidates the handle's trickles have handed
	// on since its last offer (see trickle).
	trickled atomic.Int64

	// sendMu orders the handle's messages with its detached: once gone,
	// nothing more about the handle reaches the client.
	sendMu sync.Mutex
	gone   bool
}

// send delivers a message about the handle unless it was detached.
func (h *Handle) send(m M) {
	h.sendMu.Lock()
	defer h.sendMu.Unlock()
	if !h.gone {
		h.session.send(m)
	}
}

// detached sends the handle's last message.
func (h *Handle) detached() {
	h.sendMu.Lock()
	defer h.sendMu.Unlock()
	h.gone = true
	h.session.send(M{"janus": "detached", "session_id": h.session.id, "sender": h.id})
}

// handleQueueLen bounds a handle's pending asynchronous requests and
// events.
const handleQueueLen = 256

// maxTrickled bounds the candidates a handle may trickle after each offer:
// what a media session takes (the room refuses more for one ICE session,
// however many offers renegotiate it).
const maxTrickled = rtc.MaxRemoteCandidates

func (h *Handle) run() {
	for {
		select {
		case fn := <-h.tasks:
			h.runTask(fn)
		case <-h.done:
			return
		}
	}
}

// panics counts the panics recovered in handles' requests.
var panics atomic.Uint64

// Panics is how many panics in plugin requests were recovered since the
// process started; each cost that request's answer, nothing more.
func Panics() uint64 { return panics.Load() }

// runTask runs one of the handle's requests. A panic in it (a bug in a
// plugin) is recovered and logged with its stack: the request gets no
// answer, the handle, its session and every other client go on.
func (h *Handle) runTask(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			n := panics.Add(1)
			h.session.gw.log.Error("plugin request panicked", "session", h.session.id, "handle", h.id,
				"panic", fmt.Sprint(v), "panics", n, "stack", string(debug.Stack()))
		}
	}()
	fn()
}

// enqueue runs fn on the handle's own goroutine, in order with its other
// requests and events. It reports false when the handle is gone or its
// queue is full.
func (h *Handle) enqueue(fn func()) bool {
	select {
	case <-h.done:
		return false
	default:
	}
	select {
	case h.tasks <- fn:
		return true
	default:
		h.session.gw.log.Warn("handle queue full; dropping", "session", h.session.id, "handle", h.id)
		return false
	}
}

// notTaken answers a request the handle could not queue: 459 when the
// handle has gone meanwhile, 462 when its queue is full (a client far
// ahead of its plugin).
func (h *Handle) notTaken(tx string) M {
	select {
	case <-h.done:
		return errReply(h.session.id, tx, errorf(CodeHandleNotFound, "No such handle %d in session %d", h.id, h.session.id))
	default:
		return errReply(h.session.id, tx, errorf(CodePluginMessage, "Handle busy: request not taken"))
	}
}

// ID implements HandleContext.
func (h *Handle) ID() uint64 { return h.id }

// SessionID implements HandleContext.
func (h *Handle) SessionID() uint64 { return h.session.id }

// Event implements HandleContext: an unsolicited plugin event.
func (h *Handle) Event(data any, jsep *JSEP) { h.send(h.pluginEvent("", data, jsep)) }

func (h *Handle) pluginEvent(tx string, data any, jsep *JSEP) M {
	m := M{"janus": "event", "session_id": h.session.id, "sender": h.id,
		"plugindata": M{"plugin": h.plugin.Package(), "data": data}}
	if tx != "" {
		m["transaction"] = tx
	}
	if jsep != nil {
		m["jsep"] = jsep
	}
	return m
}

// WebRTCUp implements HandleContext.
func (h *Handle) WebRTCUp() {
	h.send(M{"janus": "webrtcup", "session_id": h.session.id, "sender": h.id})
}

// Media implements HandleContext.
func (h *Handle) Media(mid, kind string, receiving bool) {
	h.send(M{"janus": "media", "session_id": h.session.id, "sender": h.id, "mid": mid, "type": kind, "receiving": receiving})
}

// HangupEvent implements HandleContext.
func (h *Handle) HangupEvent(reason string) {
	h.send(M{"janus": "hangup", "session_id": h.session.id, "sender": h.id, "reason": reason})
}

// SlowLink implements HandleContext.
func (h *Handle) SlowLink(mid, kind string, uplink bool, lost int) {
	h.send(M{"janus": "slowlink", "session_id": h.session.id, "sender": h.id, "mid": mid, "media": kind, "uplink": uplink, "lost": lost})
}

var _ HandleContext = (*Handle)(nil)

// maxID is the largest session or handle ID: 2^53-1, the largest integer
// a JavaScript number holds exactly (Janus's IDs are 53-bit too).
const maxID = 1<<53 - 1

// randomID returns a random ID in 1..maxID.
func randomID() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:])
		if id := binary.LittleEndian.Uint64(b[:]) & maxID; id != 0 {
			return id
		}
	}
}

// request is a decoded client request.
type request struct {
	janus       string
	transaction string
	sessionID   uint64
	handleID    uint64
	raw         map[string]json.RawMessage
}

// errReply builds an error message.
func errReply(sessionID uint64, tx string, e *Error) M {
	m := M{"janus": "error", "error": e}
	if sessionID != 0 {
		m["session_id"] = sessionID
	}
	if tx != "" {
		m["transaction"] = tx
	}
	return m
}

// parse decodes and checks a request envelope. pathSession and pathHandle
// come from the HTTP path (0 on WebSocket).
func parse(body []byte, pathSession, pathHandle uint64) (*request, M) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, errReply(0, "", errorf(CodeInvalidJSON, "JSON error: empty request"))
	}
	// JSON text is UTF-8 (RFC 8259 section 8.1). Go's decoder would put
	// U+FFFD in place of invalid bytes; Janus's refuses the request (454).
	if !utf8.Valid(trimmed) {
		return nil, errReply(0, "", errorf(CodeInvalidJSON, "JSON error: invalid UTF-8"))
	}
	// As Janus 1.1.2 answers: an array is valid JSON but not an object
	// (455); anything else that is not an object is a JSON error (454).
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &raw); err != nil || raw == nil {
		switch {
		case trimmed[0] == '[' && json.Valid(trimmed):
			return nil, errReply(0, "", errorf(CodeInvalidJSONObject, "JSON error: not an object"))
		case trimmed[0] == '{' && err != nil:
			return nil, errReply(0, "", errorf(CodeInvalidJSON, "JSON error: %v", err))
		}
		return nil, errReply(0, "", errorf(CodeInvalidJSON, "JSON error: not an object"))
	}
	r := &request{raw: raw}
	var e *Error
	if r.janus, e = str(raw, "janus", true); e != nil {
		return nil, errReply(0, "", e)
	}
	if r.transaction, e = str(raw, "transaction", true); e != nil {
		return nil, errReply(0, "", e)
	}
	if r.sessionID, e = uintField(raw, "session_id"); e != nil {
		return nil, errReply(0, r.transaction, e)
	}
	if r.handleID, e = uintField(raw, "handle_id"); e != nil {
		return nil, errReply(r.sessionID, r.transaction, e)
	}
	for _, p := range []struct {
		path uint64
		body *uint64
		name string
	}{{pathSession, &r.sessionID, "session"}, {pathHandle, &r.handleID, "handle"}} {
		if p.path == 0 {
			continue
		}
		if *p.body != 0 && *p.body != p.path {
			return nil, errReply(r.sessionID, r.transaction, errorf(CodeInvalidRequestPath, "%s ID in path and body differ", p.name))
		}
		*p.body = p.path
	}
	return r, nil
}

// str reads a string field; a missing required one is 456, a wrong type
// 467.
func str(raw map[string]json.RawMessage, key string, required bool) (string, *Error) {
	v, ok := raw[key]
	if !ok || string(v) == "null" {
		if required {
			return "", errorf(CodeMissingMandatory, "Missing mandatory element (%s)", key)
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", errorf(CodeInvalidElementType, "Invalid element type (%s should be a string)", key)
	}
	return s, nil
}

// uintField reads an optional unsigned integer ID (null counts as absent).
func uintField(raw map[string]json.RawMessage, key string) (uint64, *Error) {
	v, ok := raw[key]
	if !ok || string(v) == "null" {
		return 0, nil
	}
	var n uint64
	if err := json.Unmarshal(v, &n); err != nil {
		return 0, errorf(CodeInvalidElementType, "Invalid element type (%s should be a positive integer)", key)
	}
	return n, nil
}

// process answers one request. bind is the transport's sink, used for
// sessions it creates or claims. It returns the synchronous reply.
func (g *Gateway) process(ctx context.Context, body []byte, pathSession, pathHandle uint64, bind sink, onCreate func(*Session)) M {
	r, bad := parse(body, pathSession, pathHandle)
	if bad != nil {
		g.log.Debug("bad request", "error", bad["error"])
		return bad
	}
	switch r.janus {
	case "info":
		return g.info(r.transaction)
	case "ping":
		return M{"janus": "pong", "transaction": r.transaction}
	case "create":
		if r.sessionID == 0 {
			return g.create(r, bind, onCreate)
		}
		// Inside a session (by path or body), as Janus 1.1.2 answers: the
		// session must exist, and create is no request there.
		if g.session(r.sessionID) == nil {
			return errReply(r.sessionID, r.transaction, errorf(CodeSessionNotFound, "No such session %d", r.sessionID))
		}
		return errReply(r.sessionID, r.transaction, errorf(CodeUnknownRequest, "Unknown request 'create'"))
	}
	if r.sessionID == 0 {
		// As Janus does: anything but info, ping and create needs a session.
		return errReply(0, r.transaction, errorf(CodeInvalidRequestPath, "Unhandled request '%s' at this path", r.janus))
	}
	s := g.session(r.sessionID)
	if s == nil {
		return errReply(r.sessionID, r.transaction, errorf(CodeSessionNotFound, "No such session %d", r.sessionID))
	}
	s.touch()
	sessionLevel := map[string]bool{"attach": true, "destroy": true, "keepalive": true, "claim": true}
	handleLevel := map[string]bool{"message": true, "trickle": true, "detach": true, "hangup": true}
	switch {
	case sessionLevel[r.janus]:
		if r.handleID != 0 {
			return errReply(s.id, r.transaction, errorf(CodeInvalidRequestPath, "Unhandled request '%s' at this path", r.janus))
		}
	case handleLevel[r.janus]:
		if r.handleID == 0 {
			return errReply(s.id, r.transaction, errorf(CodeInvalidRequestPath, "Unhandled request '%s' at this path", r.janus))
		}
	default:
		return errReply(s.id, r.transaction, errorf(CodeUnknownRequest, "Unknown request '%s'", r.janus))
	}
	switch r.janus {
	case "keepalive":
		return M{"janus": "ack", "session_id": s.id, "transaction": r.transaction}
	case "attach":
		return g.attach(ctx, s, r)
	case "destroy":
		g.destroySession(s, "")
		return M{"janus": "success", "session_id": s.id, "transaction": r.transaction}
	case "claim":
		s.mu.Lock()
		s.out = bind
		s.mu.Unlock()
		return M{"janus": "success", "session_id": s.id, "transaction": r.transaction}
	}
	s.mu.Lock()
	h := s.handles[r.handleID]
	s.mu.Unlock()
	if h == nil {
		return errReply(s.id, r.transaction, errorf(CodeHandleNotFound, "No such handle %d in session %d", r.handleID, s.id))
	}
	switch r.janus {
	case "message":
		return g.message(ctx, s, h, r)
	case "trickle":
		return g.trickle(ctx, s, h, r)
	case "hangup":
		if !h.enqueue(func() { h.ps.Hangup(context.Background()) }) {
			return h.notTaken(r.transaction)
		}
		return M{"janus": "success", "session_id": s.id, "transaction": r.transaction}
	default: // detach
		g.detach(s, h)
		return M{"janus": "success", "session_id": s.id, "transaction": r.transaction}
	}
}

func (g *Gateway) info(tx string) M {
	plugins := M{}
	for name, p := range g.plugins {
		plugins[name] = p.Info()
	}
	return M{
		"janus": "server_info", "transaction": tx,
		"name": "Tessera", "version": 1, "version_string": g.opts.Version,
		"author": "The Tessera authors", "commit-hash": "", "compile-time": "",
		"log-to-stdout": true, "log-to-file": false, "data_channels": false,
		"accepting-new-sessions": true, "session-timeout": int(g.opts.SessionTimeout.Seconds()),
		"reclaim-session-timeout": 0, "candidates-timeout": 45,
		"server-name": "Tessera", "local-ip": "0.0.0.0", "ipv6": false, "ice-lite": false,
		"ice-tcp": true, "full-trickle": false, "mdns-enabled": false,
		"api_secret": false, "auth_token": false, "event_handlers": false, "opaqueid_in_api": true,
		"dependencies": M{}, "transports": M{
			"janus.transport.http":       M{"name": "HTTP transport", "version_string": g.opts.Version},
			"janus.transport.websockets": M{"name": "WebSockets transport", "version_string": g.opts.Version},
		},
		"events": M{}, "loggers": M{}, "plugins": plugins,
	}
}

func (g *Gateway) session(id uint64) *Session {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sessions[id]
}

func (g *Gateway) create(r *request, bind sink, onCreate func(*Session)) M {
	id, e := uintField(r.raw, "id")
	if e != nil {
		return errReply(0, r.transaction, e)
	}
	if id > maxID {
		return errReply(0, r.transaction, errorf(CodeInvalidElementType, "Invalid element type (id should be a positive integer below 2^53)"))
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errReply(0, r.transaction, errorf(CodeNotAcceptingSession, "Not accepting new sessions"))
	}
	if id == 0 {
		for id == 0 || g.sessions[id] != nil {
			id = randomID()
		}
	} else if g.sessions[id] != nil {
		g.mu.Unlock()
		return errReply(0, r.transaction, errorf(CodeSessionConflict, "Session ID already in use"))
	}
	s := &Session{id: id, gw: g, handles: make(map[uint64]*Handle), out: bind}
	s.touch()
	g.sessions[id] = s
	g.mu.Unlock()
	if onCreate != nil {
		onCreate(s)
	}
	g.log.Debug("session created", "session", id)
	// No session_id here: janode routes any message with one to its session
	// map and would never see this reply.
	return M{"janus": "success", "transaction": r.transaction, "data": M{"id": id}}
}

func (g *Gateway) attach(ctx context.Context, s *Session, r *request) M {
	name, e := str(r.raw, "plugin", true)
	if e != nil {
		return errReply(s.id, r.transaction, e)
	}
	p := g.plugins[name]
	if p == nil {
		return errReply(s.id, r.transaction, errorf(CodePluginNotFound, "No such plugin '%s'", name))
	}
	opaque, e := str(r.raw, "opaque_id", false)
	if e != nil {
		return errReply(s.id, r.transaction, e)
	}
	h := &Handle{session: s, plugin: p, opaque: opaque, tasks: make(chan func(), handleQueueLen), done: make(chan struct{})}
	s.mu.Lock()
	if s.destroyed {
		s.mu.Unlock()
		return errReply(s.id, r.transaction, errorf(CodeSessionNotFound, "No such session %d", s.id))
	}
	for h.id == 0 || s.handles[h.id] != nil {
		h.id = randomID()
	}
	s.mu.Unlock()
	ps, err := p.Attach(h)
	if err != nil {
		return errReply(s.id, r.transaction, errorf(CodePluginAttach, "Couldn't attach to plugin: %v", err))
	}
	h.ps = ps
	s.mu.Lock()
	if s.destroyed || s.handles[h.id] != nil {
		// Destroyed (or, vanishingly unlikely, the ID taken) while the
		// plugin attached: nothing else would ever detach this handle.
		taken := !s.destroyed
		s.mu.Unlock()
		ps.Detach(context.Background())
		if taken {
			return errReply(s.id, r.transaction, errorf(CodeUnknown, "Handle ID taken meanwhile: attach again"))
		}
		return errReply(s.id, r.transaction, errorf(CodeSessionNotFound, "No such session %d", s.id))
	}
	s.handles[h.id] = h
	// Counted before the session can be destroyed: Close waits for it.
	g.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer g.wg.Done()
		h.run()
	}()
	return M{"janus": "success", "session_id": s.id, "transaction": r.transaction, "data": M{"id": h.id}}
}

func (g *Gateway) detach(s *Session, h *Handle) {
	s.mu.Lock()
	delete(s.handles, h.id)
	s.mu.Unlock()
	h.once.Do(func() {
		// Detach runs after every queued request, then the handle stops.
		finished := make(chan struct{})
		if !h.enqueue(func() { defer close(finished); h.ps.Detach(context.Background()) }) {
			h.ps.Detach(context.Background())
			close(finished)
		}
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			<-finished
			close(h.done)
			h.detached()
		}()
	})
}

// destroySession drops a session and its handles. reason "timeout" also
// tells the client.
func (g *Gateway) destroySession(s *Session, reason string) {
	g.mu.Lock()
	delete(g.sessions, s.id)
	g.mu.Unlock()
	s.mu.Lock()
	if s.destroyed {
		s.mu.Unlock()
		return
	}
	s.destroyed = true
	hs := make([]*Handle, 0, len(s.handles))
	for _, h := range s.handles {
		hs = append(hs, h)
	}
	s.mu.Unlock()
	for _, h := range hs {
		g.detach(s, h)
	}
	if reason == "timeout" {
		s.send(M{"janus": "timeout", "session_id": s.id})
	}
	s.mu.Lock()
	poll := s.poll
	s.mu.Unlock()
	if poll != nil {
		poll.close()
	}
}

func (g *Gateway) message(ctx context.Context, s *Session, h *Handle, r *request) M {
	bodyRaw, ok := r.raw["body"]
	if !ok || string(bodyRaw) == "null" {
		return errReply(s.id, r.transaction, errorf(CodeMissingMandatory, "Missing mandatory element (body)"))
	}
	if t := bytes.TrimSpace(bodyRaw); len(t) == 0 || t[0] != '{' {
		return errReply(s.id, r.transaction, errorf(CodeInvalidElementType, "Invalid element type (body should be an object)"))
	}
	var jsep *JSEP
	if raw, ok := r.raw["jsep"]; ok && string(raw) != "null" {
		var e *Error
		if jsep, e = parseJSEP(raw); e != nil {
			return errReply(s.id, r.transaction, e)
		}
		if jsep.Type == "answer" {
			// Tessera never sends offers, so an answer is always unexpected.
			return errReply(s.id, r.transaction, errorf(CodeUnexpectedAnswer, "Unexpected ANSWER (did we offer?)"))
		}
	}
	if !h.ps.Async(bodyRaw) {
		if jsep != nil {
			h.trickled.Store(0)
		}
		data, _ := h.ps.Handle(ctx, bodyRaw, jsep)
		return M{"janus": "success", "session_id": s.id, "transaction": r.transaction, "sender": h.id,
			"plugindata": M{"plugin": h.plugin.Package(), "data": data}}
	}
	tx := r.transaction
	// The request's context ends with its reply; the handle's turn may
	// come later.
	later := withClient(context.Background(), ClientAddr(ctx))
	if !h.enqueue(func() {
		data, answer := h.ps.Handle(later, bodyRaw, jsep)
		h.send(h.pluginEvent(tx, data, answer))
	}) {
		return h.notTaken(tx)
	}
	if jsep != nil {
		// A new offer may start a new ICE session, with new candidates
		// to trickle (the room still bounds one session's).
		h.trickled.Store(0)
	}
	return M{"janus": "ack", "session_id": s.id, "transaction": tx}
}

// parseJSEP checks a JSEP the way the Janus core does before a plugin sees
// it: a known type (464) and a parsable SDP (465).
func parseJSEP(raw json.RawMessage) (*JSEP, *Error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, errorf(CodeInvalidElementType, "Invalid element type (jsep should be an object)")
	}
	typ, e := str(fields, "type", true)
	if e != nil {
		return nil, e
	}
	sdpText, e := str(fields, "sdp", true)
	if e != nil {
		return nil, e
	}
	if typ != "offer" && typ != "answer" {
		return nil, errorf(CodeJSEPUnknownType, "JSEP error: unknown message type '%s'", typ)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(sdpText); err != nil || len(sd.MediaDescriptions) == 0 || !strings.HasPrefix(strings.TrimSpace(sdpText), "v=0") {
		reason := "no media"
		if err != nil {
			reason = err.Error()
		}
		return nil, errorf(CodeJSEPInvalidSDP, "JSEP error: invalid SDP (%s)", reason)
	}
	j := &JSEP{Type: typ, SDP: sdpText}
	if t, ok := fields["trickle"]; ok {
		var b bool
		if json.Unmarshal(t, &b) == nil {
			j.Trickle = &b
		}
	}
	return j, nil
}

func (g *Gateway) trickle(ctx context.Context, s *Session, h *Handle, r *request) M {
	c1, has1 := r.raw["candidate"]
	c2, has2 := r.raw["candidates"]
	if has1 && has2 {
		return errReply(s.id, r.transaction, errorf(CodeInvalidJSON, "Can't have both candidate and candidates"))
	}
	if !has1 && !has2 {
		return errReply(s.id, r.transaction, errorf(CodeMissingMandatory, "Missing mandatory element (candidate|candidates)"))
	}
	var cands []Candidate
	if has1 {
		if string(c1) == "null" {
			cands = []Candidate{{Completed: true}}
		} else {
			var c Candidate
			if err := json.Unmarshal(c1, &c); err != nil {
				return errReply(s.id, r.transaction, errorf(CodeInvalidElementType, "Invalid element type (candidate should be an object)"))
			}
			cands = []Candidate{c}
		}
	} else if err := json.Unmarshal(c2, &cands); err != nil {
		return errReply(s.id, r.transaction, errorf(CodeInvalidElementType, "Invalid element type (candidates should be an array)"))
	}
	n := int64(0)
	for _, c := range cands {
		if !c.Completed && c.Candidate == "" {
			return errReply(s.id, r.transaction, errorf(CodeMissingMandatory, "Missing mandatory element (candidate)"))
		}
		if !c.Completed {
			n++
		}
	}
	// A trickle that would take the handle beyond maxTrickled candidates
	// since its last offer is refused whole, before anything is queued, so
	// a flood costs neither the handle's queue nor the room a thing. The
	// code is 467 because that is how Janus 1.1.2 answers a trickle
	// whose candidates it cannot take as sent (a "candidates" that is not
	// an array, a candidate that is not a string): the element is there
	// (456 would say missing) and names no unknown stream (466); its value
	// is what is refused.
	if total := h.trickled.Add(n); n > 0 && total > maxTrickled {
		h.trickled.Add(-n)
		return errReply(s.id, r.transaction, errorf(CodeInvalidElementType,
			"Invalid element type (too many candidates: at most %d per offer; %d taken, %d more refused)", maxTrickled, total-n, n))
	}
	tx := r.transaction
	if !h.enqueue(func() {
		if err := h.ps.Trickle(context.Background(), cands); err != nil {
			g.log.Debug("trickle rejected", "session", s.id, "handle", h.id, "transaction", tx, "err", err)
		}
	}) {
		h.trickled.Add(-n)
		return h.notTaken(tx)
	}
	return M{"janus": "ack", "session_id": s.id, "transaction": tx}
}
