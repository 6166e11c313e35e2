package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// janus is one Janus API session on a WebSocket with the video MCU
// plugin attached, carrying one WebRTC participant of room 1234.
type janus struct {
	c        *websocket.Conn
	sid, hid uint64
	mu       sync.Mutex // writes and the waiting answers
	waiting  map[string]chan map[string]any
	n        int
	done     chan struct{}
	peer     *testpeer.Peer
}

// joinWebRTC joins a real WebRTC peer sending what opts say to room 1234
// of the server at addr.
func joinWebRTC(addr, name string, opts testpeer.Options) (*janus, error) {
	d := websocket.Dialer{Subprotocols: []string{"janus-protocol"}}
	c, _, err := d.Dial("ws://"+addr+"/janus", nil)
	if err != nil {
		return nil, err
	}
	j := &janus{c: c, waiting: map[string]chan map[string]any{}, done: make(chan struct{})}
	go j.read()
	fail := func(err error) (*janus, error) { j.close(); return nil, err }
	if j.sid, err = j.id(map[string]any{"janus": "create"}); err != nil {
		return fail(err)
	}
	if j.hid, err = j.id(map[string]any{"janus": "attach", "session_id": j.sid, "plugin": "janus.plugin.mcu"}); err != nil {
		return fail(err)
	}
	if j.peer, err = testpeer.New(opts); err != nil {
		return fail(err)
	}
	offer, err := j.peer.Offer()
	if err != nil {
		return fail(err)
	}
	m, err := j.call(map[string]any{"janus": "message", "session_id": j.sid, "handle_id": j.hid,
		"body": map[string]any{"request": "join", "room": 1234, "display": name},
		"jsep": map[string]any{"type": "offer", "sdp": offer}})
	if err != nil {
		return fail(err)
	}
	jsep, _ := m["jsep"].(map[string]any)
	answer, _ := jsep["sdp"].(string)
	if answer == "" {
		return fail(fmt.Errorf("join: %v", m))
	}
	if err := j.peer.Accept(answer); err != nil {
		return fail(err)
	}
	return j, nil
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

func (j *janus) close() {
	if j.peer != nil {
		_ = j.peer.Close()
	}
	_ = j.c.Close()
	<-j.done
}
