package main

import (
	"fmt"

	"github.com/tessera-mcu/tessera/internal/janusws"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// janus is one Janus API session with the video MCU plugin attached,
// carrying one WebRTC participant of room 1234.
type janus struct {
	*janusws.Conn
	peer *testpeer.Peer
}

// joinWebRTC joins a real WebRTC peer sending what opts say to a room
// of the server at addr.
func joinWebRTC(addr string, room uint64, name string, opts testpeer.Options) (*janus, error) {
	c, p, err := janusws.JoinPeer(addr, room, name, opts)
	if err != nil {
		return nil, err
	}
	return &janus{Conn: c, peer: p}, nil
}

func (j *janus) close() {
	_ = j.peer.Close()
	j.Close()
}

// createRoom creates a video room through the Janus API (the server
// opens room 1234 itself).
func createRoom(addr string, room uint64) error {
	c, err := janusws.Dial(addr, "janus.plugin.mcu")
	if err != nil {
		return err
	}
	defer c.Close()
	m, err := c.Message(map[string]any{"request": "create", "room": room, "description": "videoload"}, nil)
	if err != nil {
		return err
	}
	if _, failed := m["error_code"]; failed {
		return fmt.Errorf("create room %d: %v", room, m)
	}
	return nil
}
