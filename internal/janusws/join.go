package janusws

import (
	"fmt"

	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// JoinPeer joins a real WebRTC peer, made from opts, to room of the video
// MCU plugin at addr under name: a session, the join with the peer's
// offer, the answer applied. It returns before the peer is connected
// (testpeer.Peer.WaitConnected).
func JoinPeer(addr string, room uint64, name string, opts testpeer.Options) (*Conn, *testpeer.Peer, error) {
	c, err := Dial(addr, "janus.plugin.mcu")
	if err != nil {
		return nil, nil, err
	}
	p, err := testpeer.New(opts)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	fail := func(err error) (*Conn, *testpeer.Peer, error) {
		_ = p.Close()
		c.Close()
		return nil, nil, err
	}
	offer, err := p.Offer()
	if err != nil {
		return fail(err)
	}
	m, err := c.Message(map[string]any{"request": "join", "room": room, "display": name},
		map[string]any{"type": "offer", "sdp": offer})
	if err != nil {
		return fail(err)
	}
	jsep, _ := m["jsep"].(map[string]any)
	answer, _ := jsep["sdp"].(string)
	if answer == "" {
		return fail(fmt.Errorf("janusws: join: %v", m))
	}
	if err := p.Accept(answer); err != nil {
		return fail(err)
	}
	return c, p, nil
}
