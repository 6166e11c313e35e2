package janus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tessera-mcu/tessera/internal/loglimit"
	"golang.org/x/time/rate"
)

// Subprotocol is the WebSocket subprotocol Janus clients ask for. The
// server must echo it: janode aborts a connection without it.
const Subprotocol = "janus-protocol"

// DefaultWSMaxMessage is the default bound of one incoming WebSocket
// message.
const DefaultWSMaxMessage = 256 << 10

// wsSendQueue bounds the messages waiting for one socket; a client that
// falls this far behind is disconnected.
const wsSendQueue = 1024

// IsWebSocket reports whether r asks to upgrade to a WebSocket.
func IsWebSocket(r *http.Request) bool { return websocket.IsWebSocketUpgrade(r) }

// wsTransport serves the Janus API over WebSocket. Each socket is a sink:
// the sessions created or claimed on it are bound to it, and end with it.
// The transport owns its sockets' goroutines: stop closes the sockets and
// returns once they have ended.
type wsTransport struct {
	core       core
	log        *slog.Logger
	maxMessage int64
	// rate makes each socket's request budget (nil: no limit); perSecond
	// is its rate, for the refusals.
	rate        func() *rate.Limiter
	perSecond   int
	sessionWait time.Duration
	upgrader    websocket.Upgrader
	// logs limits the lines about refused, slow and hasty clients.
	refusedLog, slowLog, rateLog loglimit.Limiter

	mu      sync.Mutex
	sockets map[*wsConn]struct{}
	stopped bool
	// handlers counts the sockets' handlers, each of which waits for its
	// writer.
	handlers sync.WaitGroup
}

// WSHandler serves the Janus API over WebSocket. Every session created on
// a socket belongs to it and is destroyed when it closes.
func (g *Gateway) WSHandler() http.Handler {
	t := &wsTransport{
		core: g, log: g.log, maxMessage: g.opts.WSMaxMessage, sessionWait: g.opts.WSSessionWait,
		rate: g.wsRate, perSecond: g.opts.WSRate,
		upgrader: websocket.Upgrader{
			Subprotocols:    []string{Subprotocol},
			CheckOrigin:     originChecker(g.opts.WSOrigins),
			ReadBufferSize:  16 << 10,
			WriteBufferSize: 16 << 10,
		},
		sockets: make(map[*wsConn]struct{}),
	}
	if !g.addTransport(t) {
		t.stopped = true
	}
	return t
}

func (t *wsTransport) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !hasSubprotocol(r) {
		t.refusedLog.Log(t.log, slog.LevelInfo, "websocket refused: no janus-protocol subprotocol", "remote", r.RemoteAddr)
		http.Error(w, "the janus-protocol WebSocket subprotocol is required", http.StatusBadRequest)
		return
	}
	if !t.upgrader.CheckOrigin(r) {
		t.refusedLog.Log(t.log, slog.LevelInfo, "websocket refused: origin not allowed", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"))
		http.Error(w, "origin not allowed: "+r.Header.Get("Origin"), http.StatusForbidden)
		return
	}
	conn, err := t.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &wsConn{conn: conn, t: t, send: make(chan M, wsSendQueue), closed: make(chan struct{}),
		leave: make(chan struct{}), sessions: map[uint64]*Session{}}
	if !t.add(c) {
		// The gateway is closed: going away at once.
		msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down")
		_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		_ = conn.Close()
		return
	}
	defer t.remove(c)
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		c.writeLoop()
	}()
	c.readLoop()
	<-wrote
}

// add registers an open socket; it reports false once the transport is
// stopped.
func (t *wsTransport) add(c *wsConn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	t.sockets[c] = struct{}{}
	t.handlers.Add(1)
	return true
}

func (t *wsTransport) remove(c *wsConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.sockets[c]; ok {
		delete(t.sockets, c)
		t.handlers.Done()
	}
}

// stop implements stopper: every socket is closed with 1001 (going away)
// once what is queued for it is written, and stop returns when their
// handlers have ended.
func (t *wsTransport) stop() {
	t.mu.Lock()
	t.stopped = true
	for c := range t.sockets {
		c.goAway()
	}
	t.mu.Unlock()
	t.handlers.Wait()
}

func hasSubprotocol(r *http.Request) bool {
	for _, p := range websocket.Subprotocols(r) {
		if p == Subprotocol {
			return true
		}
	}
	return false
}

// wsConn is one socket: a reader (the handler's goroutine) and a writer
// it waits for.
type wsConn struct {
	conn   *websocket.Conn
	t      *wsTransport
	send   chan M
	closed chan struct{}
	once   sync.Once
	// leave asks the writer to send what is queued, then close with 1001.
	leave     chan struct{}
	leaveOnce sync.Once

	mu       sync.Mutex
	sessions map[uint64]*Session
	// bound: a session was created or claimed on the socket.
	bound bool
}

// deliver implements sink.
func (c *wsConn) deliver(m M) {
	select {
	case c.send <- m:
	case <-c.closed:
	default:
		c.t.slowLog.Warn(c.t.log, "websocket client too slow; disconnecting", "remote", c.conn.RemoteAddr().String())
		c.shutdown()
	}
}

// goAway closes the socket with 1001 (going away) once the messages
// already queued are written.
func (c *wsConn) goAway() { c.leaveOnce.Do(func() { close(c.leave) }) }

func (c *wsConn) shutdown() {
	c.once.Do(func() {
		close(c.closed)
		_ = c.conn.Close()
	})
}

// writeLoop sends the socket's messages. It also closes a socket that has
// no session WSSessionWait after it opened: a client that never starts one
// holds a connection for nothing.
func (c *wsConn) writeLoop() {
	wait := time.NewTimer(c.t.sessionWait)
	defer wait.Stop()
	for {
		select {
		case m := <-c.send:
			_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.conn.WriteJSON(m); err != nil {
				c.shutdown()
				return
			}
		case <-c.leave:
			for {
				select {
				case m := <-c.send:
					_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
					if c.conn.WriteJSON(m) == nil {
						continue
					}
				default:
					msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down")
					_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
				}
				c.shutdown()
				return
			}
		case <-wait.C:
			c.mu.Lock()
			bound := c.bound
			c.mu.Unlock()
			if !bound {
				msg := websocket.FormatCloseMessage(websocket.ClosePolicyViolation,
					fmt.Sprintf("no Janus session created within %v", c.t.sessionWait))
				_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
				c.shutdown()
				return
			}
		case <-c.closed:
			return
		}
	}
}

func (c *wsConn) readLoop() {
	defer func() {
		c.shutdown()
		// Sessions die with their socket (Janus's default reclaim timeout
		// is zero); one claimed elsewhere meanwhile lives on.
		c.mu.Lock()
		owned := c.sessions
		c.sessions = nil
		c.mu.Unlock()
		for _, s := range owned {
			c.t.core.unbind(s, c)
		}
	}()
	// A message longer than the limit is refused from its frame header,
	// before any of it is buffered: the library answers close code 1009
	// (message too big) and the read fails.
	c.conn.SetReadLimit(c.t.maxMessage)
	ctx := withClient(context.Background(), c.conn.RemoteAddr().String())
	budget := c.t.rate()
	for {
		typ, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		if typ != websocket.TextMessage && typ != websocket.BinaryMessage {
			continue
		}
		// A frame may hold several JSON objects back to back.
		dec := json.NewDecoder(bytes.NewReader(data))
		for {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				if err != io.EOF {
					c.deliver(errReply(0, "", errorf(CodeInvalidJSON, "JSON error: %v", err)))
				}
				break
			}
			if budget != nil && !budget.Allow() {
				c.t.rateLog.Log(c.t.log, slog.LevelInfo, "websocket request over the rate limit refused",
					"remote", c.conn.RemoteAddr().String(), "per_second", c.t.perSecond)
				c.deliver(rateLimited(raw, c.t.perSecond))
				continue
			}
			rep := c.t.core.process(ctx, raw, route{}, c)
			if rep.session != nil {
				c.own(rep.session)
			}
			c.deliver(rep.msg)
		}
	}
}

// own records a session created or claimed on this socket.
func (c *wsConn) own(s *Session) {
	c.mu.Lock()
	if c.sessions != nil {
		c.sessions[s.id] = s
	}
	c.bound = true
	c.mu.Unlock()
}
