package main

import (
	"fmt"

	"github.com/tessera-mcu/tessera/internal/janusws"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// janus is one Janus API session on a WebSocket with the video MCU
// plugin attached, carrying one WebRTC participant of room 1234.
type janus struct {
	*janusws.Conn
	peer *testpeer.Peer
}

// joinWebRTC joins a real WebRTC peer sending what opts say to room 1234
// of the server at addr.
func joinWebRTC(addr, name string, opts testpeer.Options) (*janus, error) {
	c, err := janusws.Dial(addr, "janus.plugin.mcu")
	if err != nil {
		return nil, err
	}
	j := &janus{Conn: c}
	fail := func(err error) (*janus, error) { j.close(); return nil, err }
	if j.peer, err = testpeer.New(opts); err != nil {
		return fail(err)
	}
	offer, err := j.peer.Offer()
	if err != nil {
		return fail(err)
	}
	m, err := j.Message(map[string]any{"request": "join", "room": 1234, "display": name},
		map[string]any{"type": "offer", "sdp": offer})
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

func (j *janus) close() {
	if j.peer != nil {
		_ = j.peer.Close()
	}
	j.Close()
}
