package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// janus is one Janus API session on a WebSocket with the video MCU
// plugin attached: it joins a peer to room 1234 and sends stream
// requests.
type janus struct {
	c        *websocket.Conn
	sid, hid uint64
	mu       sync.Mutex
	events   chan map[string]any
	answers  map[string]chan map[string]any
	n        int
	done     chan struct{}
}

func dialJanus(addr string) (*janus, error) {
	d := websocket.Dialer{Subprotocols: []string{"janus-protocol"}}
	c, _, err := d.Dial("ws://"+addr+"/janus", nil)
	if err != nil {
		return nil, err
	}
	j := &janus{c: c, events: make(chan map[string]any, 256), answers: map[string]chan map[string]any{}, done: make(chan struct{})}
	go j.read()
	if j.sid, err = j.id(map[string]any{"janus": "create"}); err != nil {
		return nil, err
	}
	if j.hid, err = j.id(map[string]any{"janus": "attach", "session_id": j.sid, "plugin": "janus.plugin.mcu"}); err != nil {
		return nil, err
	}
	return j, nil
}

func (j *janus) read() {
	defer close(j.done)
	for {
		var m map[string]any
		if err := j.c.ReadJSON(&m); err != nil {
			return
		}
		tx, _ := m["transaction"].(string)
		j.mu.Lock()
		ch := j.answers[tx]
		j.mu.Unlock()
		switch {
		case ch != nil && m["janus"] != "ack":
			ch <- m
		case m["janus"] == "event":
			select {
			case j.events <- m:
			default: // nobody waits for it
			}
		}
	}
}

func (j *janus) close() {
	_ = j.c.Close()
	<-j.done
}

// call sends a request and waits for its answer (not its ack).
func (j *janus) call(req map[string]any) (map[string]any, error) {
	j.mu.Lock()
	j.n++
	tx := fmt.Sprintf("t%d", j.n)
	ch := make(chan map[string]any, 1)
	j.answers[tx] = ch
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		delete(j.answers, tx)
		j.mu.Unlock()
	}()
	req["transaction"] = tx
	j.mu.Lock()
	err := j.c.WriteJSON(req)
	j.mu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case m := <-ch:
		return m, nil
	case <-time.After(20 * time.Second):
		return nil, fmt.Errorf("no answer to %v", req)
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
		return 0, fmt.Errorf("%v: %v", req["janus"], m)
	}
	return uint64(id), nil
}

func pluginData(m map[string]any) map[string]any {
	pd, _ := m["plugindata"].(map[string]any)
	d, _ := pd["data"].(map[string]any)
	return d
}

// message sends a plugin request and returns the plugin's answer.
func (j *janus) message(body map[string]any, jsep map[string]any) (map[string]any, error) {
	req := map[string]any{"janus": "message", "session_id": j.sid, "handle_id": j.hid, "body": body}
	if jsep != nil {
		req["jsep"] = jsep
	}
	m, err := j.call(req)
	if err != nil {
		return nil, err
	}
	if d := pluginData(m); d == nil || d["error"] != nil {
		return nil, fmt.Errorf("%v: %v", body["request"], m)
	}
	return m, nil
}

// join joins room 1234 with a real WebRTC peer sending what opts say.
func join(addr, name string, opts testpeer.Options) (*janus, *testpeer.Peer, error) {
	j, err := dialJanus(addr)
	if err != nil {
		return nil, nil, err
	}
	p, err := testpeer.New(opts)
	if err != nil {
		j.close()
		return nil, nil, err
	}
	fail := func(err error) (*janus, *testpeer.Peer, error) {
		_ = p.Close()
		j.close()
		return nil, nil, err
	}
	offer, err := p.Offer()
	if err != nil {
		return fail(err)
	}
	m, err := j.message(map[string]any{"request": "join", "room": 1234, "display": name}, map[string]any{"type": "offer", "sdp": offer})
	if err != nil {
		return fail(err)
	}
	jsep, _ := m["jsep"].(map[string]any)
	sdp, _ := jsep["sdp"].(string)
	if err := p.Accept(sdp); err != nil {
		return fail(err)
	}
	if err := p.WaitConnected(20 * time.Second); err != nil {
		return fail(err)
	}
	return j, p, nil
}

// stream sends a stream request for room 1234.
func (j *janus) stream(body map[string]any) (map[string]any, error) {
	body["request"], body["room"], body["secret"] = "stream", 1234, "adminpwd"
	m, err := j.message(body, nil)
	if err != nil {
		return nil, err
	}
	return pluginData(m), nil
}

// startPush starts a push of room 1234 to url and waits until the room
// says it streams; it returns the stream's id.
func (j *janus) startPush(url string) (uint64, error) {
	d, err := j.stream(map[string]any{"action": "start", "url": url})
	if err != nil {
		return 0, err
	}
	s, _ := d["stream"].(map[string]any)
	id, _ := s["id"].(float64)
	return uint64(id), nil
}

func (j *janus) stopPush(id uint64) error {
	_, err := j.stream(map[string]any{"action": "stop", "id": id})
	return err
}
