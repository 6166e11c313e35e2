package janus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
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

// WSHandler serves the Janus API over WebSocket. Every session created on
// a socket belongs to it and is destroyed when it closes.
func (g *Gateway) WSHandler() http.Handler {
	up := websocket.Upgrader{
		Subprotocols:    []string{Subprotocol},
		CheckOrigin:     func(*http.Request) bool { return true },
		ReadBufferSize:  16 << 10,
		WriteBufferSize: 16 << 10,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hasSubprotocol(r) {
			g.log.Info("websocket refused: no janus-protocol subprotocol", "remote", r.RemoteAddr)
			http.Error(w, "the janus-protocol WebSocket subprotocol is required", http.StatusBadRequest)
			return
		}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // the upgrader has answered
		}
		c := &wsConn{conn: conn, gw: g, send: make(chan M, wsSendQueue), closed: make(chan struct{}),
			leave: make(chan struct{}), sessions: map[uint64]*Session{}}
		if !g.addSocket(c) {
			c.goAway()
		}
		defer g.removeSocket(c)
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			c.writeLoop()
		}()
		c.readLoop()
		<-wrote
	})
}

func hasSubprotocol(r *http.Request) bool {
	for _, p := range websocket.Subprotocols(r) {
		if p == Subprotocol {
			return true
		}
	}
	return false
}

type wsConn struct {
	conn   *websocket.Conn
	gw     *Gateway
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
		c.gw.log.Warn("websocket client too slow; disconnecting", "remote", c.conn.RemoteAddr().String())
		c.shutdown()
	}
}

// addSocket registers an open WebSocket; it reports false once the
// gateway is closed.
func (g *Gateway) addSocket(c *wsConn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.sockets[c] = struct{}{}
	g.socketsWG.Add(1)
	return true
}

func (g *Gateway) removeSocket(c *wsConn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.sockets[c]; ok {
		delete(g.sockets, c)
		g.socketsWG.Done()
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
	wait := time.NewTimer(c.gw.opts.WSSessionWait)
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
					fmt.Sprintf("no Janus session created within %v", c.gw.opts.WSSessionWait))
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
		// is zero).
		c.mu.Lock()
		owned := c.sessions
		c.sessions = nil
		c.mu.Unlock()
		for _, s := range owned {
			s.mu.Lock()
			mine := s.out == c
			s.mu.Unlock()
			if mine {
				c.gw.destroySession(s, "")
			}
		}
	}()
	// A message longer than the limit is refused from its frame header,
	// before any of it is buffered: the library answers close code 1009
	// (message too big) and the read fails.
	c.conn.SetReadLimit(c.gw.opts.WSMaxMessage)
	ctx := withClient(context.Background(), c.conn.RemoteAddr().String())
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
			reply := c.gw.process(ctx, raw, 0, 0, c, c.own)
			c.trackClaim(reply, raw)
			c.deliver(reply)
		}
	}
}

// own records a session created on this socket.
func (c *wsConn) own(s *Session) {
	c.mu.Lock()
	if c.sessions != nil {
		c.sessions[s.id] = s
	}
	c.bound = true
	c.mu.Unlock()
}

// trackClaim adopts a session claimed from another transport.
func (c *wsConn) trackClaim(reply M, raw json.RawMessage) {
	var env struct {
		Janus     string `json:"janus"`
		SessionID uint64 `json:"session_id"`
	}
	if reply["janus"] != "success" || json.Unmarshal(raw, &env) != nil || env.Janus != "claim" {
		return
	}
	if s := c.gw.session(env.SessionID); s != nil {
		c.own(s)
	}
}
