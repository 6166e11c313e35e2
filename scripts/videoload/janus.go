package main

import (
	"github.com/tessera-mcu/tessera/internal/janusws"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// janus is one Janus API session with the video MCU plugin attached,
// carrying one WebRTC participant of room 1234.
type janus struct {
	*janusws.Conn
	peer *testpeer.Peer
}

// joinWebRTC joins a real WebRTC peer sending what opts say to room 1234
// of the server at addr.
func joinWebRTC(addr, name string, opts testpeer.Options) (*janus, error) {
	c, p, err := janusws.JoinPeer(addr, 1234, name, opts)
	if err != nil {
		return nil, err
	}
	return &janus{Conn: c, peer: p}, nil
}

func (j *janus) close() {
	_ = j.peer.Close()
	j.Close()
}
