package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// janus is one Janus API session on a WebSocket to one node, with one
// plugin handle attached.
type janus struct {
	c        *websocket.Conn
	sid, hid uint64
	mu       sync.Mutex // writes and the waiting answers
	waiting  map[string]chan map[string]any
	n        int
	done     chan struct{}
	peer     *testpeer.Peer
}

// dial opens a session on the node at addr and attaches plugin.
func dial(addr, plugin string) (*janus, error) {
	d := websocket.Dialer{Subprotocols: []string{"janus-protocol"}, HandshakeTimeout: 10 * time.Second}
	c, _, err := d.Dial("ws://"+addr+"/janus", nil)
	if err != nil {
		return nil, err
	}
	j := &janus{c: c, waiting: map[string]chan map[string]any{}, done: make(chan struct{})}
	go j.read()
	if j.sid, err = j.id(map[string]any{"janus": "create"}); err != nil {
		j.close()
		return nil, err
	}
	if j.hid, err = j.id(map[string]any{"janus": "attach", "session_id": j.sid, "plugin": plugin}); err != nil {
		j.close()
		return nil, err
	}
	return j, nil
}

// timing is when a join's answer came and when its peer connected,
// from the moment the join went out.
type timing struct{ answer, connected time.Duration }

// join sends a join of room with a peer's offer (the peer made from
// opts), applies the answer and waits until the peer is connected.
func (j *janus) join(room uint64, name string, opts testpeer.Options) (timing, error) {
	var t timing
	p, err := testpeer.New(opts)
	if err != nil {
		return t, err
	}
	j.peer = p
	offer, err := p.Offer()
	if err != nil {
		return t, err
	}
	t0 := time.Now()
	m, err := j.call(map[string]any{"janus": "message", "session_id": j.sid, "handle_id": j.hid,
		"body": map[string]any{"request": "join", "room": room, "display": name},
		"jsep": map[string]any{"type": "offer", "sdp": offer}})
	if err != nil {
		return t, err
	}
	t.answer = time.Since(t0)
	jsep, _ := m["jsep"].(map[string]any)
	answer, _ := jsep["sdp"].(string)
	if answer == "" {
		return t, fmt.Errorf("join of room %d: %v", room, m)
	}
	if err := p.Accept(answer); err != nil {
		return t, err
	}
	if err := p.WaitConnected(20 * time.Second); err != nil {
		return t, err
	}
	t.connected = time.Since(t0)
	return t, nil
}

// message sends a plugin request and returns its answer's plugin data.
func (j *janus) message(body map[string]any) (map[string]any, error) {
	m, err := j.call(map[string]any{"janus": "message", "session_id": j.sid, "handle_id": j.hid, "body": body})
	if err != nil {
		return nil, err
	}
	pd, _ := m["plugindata"].(map[string]any)
	data, _ := pd["data"].(map[string]any)
	if data == nil {
		return nil, fmt.Errorf("%v: %v", body["request"], m)
	}
	if e, ok := data["error"]; ok {
		return nil, fmt.Errorf("%v: %v", body["request"], e)
	}
	return data, nil
}

// read hands answers to their callers and drops everything else.
func (j *janus) read() {
	defer close(j.done)
	for {
		var m map[string]any
		if err := j.c.ReadJSON(&m); err != nil {
			return
		}
		if m["janus"] == "ack" {
			continue
		}
		tx, _ := m["transaction"].(string)
		j.mu.Lock()
		ch := j.waiting[tx]
		j.mu.Unlock()
		if ch != nil {
			select {
			case ch <- m:
			default:
			}
		}
	}
}

// call sends a request and waits for its answer (not its ack).
func (j *janus) call(req map[string]any) (map[string]any, error) {
	j.mu.Lock()
	j.n++
	tx := fmt.Sprintf("t%d", j.n)
	ch := make(chan map[string]any, 1)
	j.waiting[tx] = ch
	req["transaction"] = tx
	err := j.c.WriteJSON(req)
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		delete(j.waiting, tx)
		j.mu.Unlock()
	}()
	if err != nil {
		return nil, err
	}
	select {
	case m := <-ch:
		return m, nil
	case <-j.done:
		return nil, fmt.Errorf("janus: connection closed")
	case <-time.After(20 * time.Second):
		return nil, fmt.Errorf("janus: no answer to %v", req["janus"])
	}
}

func (j *janus) id(req map[string]any) (uint64, error) {
	m, err := j.call(req)
	if err != nil {
		return 0, err
	}
	data, _ := m["data"].(map[string]any)
	id, _ := data["id"].(float64)
	if id == 0 {
		return 0, fmt.Errorf("janus %v: %v", req["janus"], m)
	}
	return uint64(id), nil
}

// close ends the peer and the session's WebSocket (the node ends the
// session, its handle with it).
func (j *janus) close() {
	if j.peer != nil {
		_ = j.peer.Close()
	}
	_ = j.c.Close()
	<-j.done
}
