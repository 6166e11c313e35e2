// Package janusws is a small Janus API client on one WebSocket, for
// Tessera's load generators and benchmarks: a request is matched to its
// answer by transaction (acks skipped), plugin events go to a bounded
// channel that drops what nobody reads, and everything else is dropped.
package janusws

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// AnswerTimeout bounds the wait for the answer to one request.
const AnswerTimeout = 20 * time.Second

// ErrClosed: the connection ended before the answer came.
var ErrClosed = errors.New("janusws: connection closed")

// Conn is one WebSocket to a Janus API server, with the session and the
// plugin handle Dial made on it.
type Conn struct {
	SID, HID uint64

	c       *websocket.Conn
	mu      sync.Mutex // writes and the waiting answers
	waiting map[string]chan map[string]any
	n       int
	events  chan map[string]any
	done    chan struct{}
}

// Dial connects to ws://addr/janus, creates a session and attaches
// plugin (e.g. janus.plugin.mcu).
func Dial(addr, plugin string) (*Conn, error) {
	d := websocket.Dialer{Subprotocols: []string{"janus-protocol"}, HandshakeTimeout: 10 * time.Second}
	ws, _, err := d.Dial("ws://"+addr+"/janus", nil)
	if err != nil {
		return nil, err
	}
	c := &Conn{c: ws, waiting: map[string]chan map[string]any{}, events: make(chan map[string]any, 256), done: make(chan struct{})}
	go c.read()
	if c.SID, err = c.ID(map[string]any{"janus": "create"}); err != nil {
		c.Close()
		return nil, err
	}
	if c.HID, err = c.ID(map[string]any{"janus": "attach", "session_id": c.SID, "plugin": plugin}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// read hands answers to their callers and plugin events to Events.
func (c *Conn) read() {
	defer close(c.done)
	for {
		var m map[string]any
		if err := c.c.ReadJSON(&m); err != nil {
			return
		}
		if m["janus"] == "ack" {
			continue
		}
		tx, _ := m["transaction"].(string)
		c.mu.Lock()
		ch := c.waiting[tx]
		c.mu.Unlock()
		switch {
		case ch != nil:
			select {
			case ch <- m:
			default:
			}
		case m["janus"] == "event":
			select {
			case c.events <- m:
			default: // nobody reads them
			}
		}
	}
}

// Events are the plugin events that answer no request of this client.
func (c *Conn) Events() <-chan map[string]any { return c.events }

// Call sends a request and waits for its answer (not its ack).
func (c *Conn) Call(req map[string]any) (map[string]any, error) {
	c.mu.Lock()
	c.n++
	tx := fmt.Sprintf("t%d", c.n)
	ch := make(chan map[string]any, 1)
	c.waiting[tx] = ch
	req["transaction"] = tx
	err := c.c.WriteJSON(req)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, tx)
		c.mu.Unlock()
	}()
	if err != nil {
		return nil, err
	}
	select {
	case m := <-ch:
		return m, nil
	case <-c.done:
		return nil, ErrClosed
	case <-time.After(AnswerTimeout):
		return nil, fmt.Errorf("janusws: no answer to %v", req["janus"])
	}
}

// ID sends a request whose answer carries an ID (create, attach).
func (c *Conn) ID(req map[string]any) (uint64, error) {
	m, err := c.Call(req)
	if err != nil {
		return 0, err
	}
	data, _ := m["data"].(map[string]any)
	id, _ := data["id"].(float64)
	if id == 0 {
		return 0, fmt.Errorf("janusws: %v: %v", req["janus"], m)
	}
	return uint64(id), nil
}

// Message sends a plugin request (and its JSEP, when not nil) on the
// handle and returns the whole answer.
func (c *Conn) Message(body, jsep map[string]any) (map[string]any, error) {
	req := map[string]any{"janus": "message", "session_id": c.SID, "handle_id": c.HID, "body": body}
	if jsep != nil {
		req["jsep"] = jsep
	}
	return c.Call(req)
}

// PluginData is the plugin data of an answer or event (nil if none).
func PluginData(m map[string]any) map[string]any {
	pd, _ := m["plugindata"].(map[string]any)
	data, _ := pd["data"].(map[string]any)
	return data
}

// Close closes the WebSocket (the server ends the session with it) and
// waits for the reader.
func (c *Conn) Close() {
	_ = c.c.Close()
	<-c.done
}
