package main

import (
	"fmt"
	"time"

	"github.com/tessera-mcu/tessera/internal/janusws"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// janus is one Janus API session on a WebSocket to one node, with one
// plugin handle attached.
type janus struct {
	*janusws.Conn
	peer *testpeer.Peer
}

// dial opens a session on the node at addr and attaches plugin.
func dial(addr, plugin string) (*janus, error) {
	c, err := janusws.Dial(addr, plugin)
	if err != nil {
		return nil, err
	}
	return &janus{Conn: c}, nil
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
	m, err := j.Message(map[string]any{"request": "join", "room": room, "display": name},
		map[string]any{"type": "offer", "sdp": offer})
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
	m, err := j.Message(body, nil)
	if err != nil {
		return nil, err
	}
	data := janusws.PluginData(m)
	if data == nil {
		return nil, fmt.Errorf("%v: %v", body["request"], m)
	}
	if e, ok := data["error"]; ok {
		return nil, fmt.Errorf("%v: %v", body["request"], e)
	}
	return data, nil
}

// close ends the peer and the session's WebSocket (the node ends the
// session, its handle with it).
func (j *janus) close() {
	if j.peer != nil {
		_ = j.peer.Close()
	}
	j.Close()
}
