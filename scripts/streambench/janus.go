package main

import (
	"fmt"
	"time"

	"github.com/tessera-mcu/tessera/internal/janusws"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// janus is one Janus API session on a WebSocket with the video MCU
// plugin attached: it joins a peer to room 1234 and sends stream
// requests.
type janus struct{ *janusws.Conn }

func dialJanus(addr string) (*janus, error) {
	c, err := janusws.Dial(addr, "janus.plugin.mcu")
	if err != nil {
		return nil, err
	}
	return &janus{c}, nil
}

func (j *janus) close() { j.Close() }

func pluginData(m map[string]any) map[string]any { return janusws.PluginData(m) }

// message sends a plugin request and returns the plugin's answer.
func (j *janus) message(body map[string]any, jsep map[string]any) (map[string]any, error) {
	m, err := j.Message(body, jsep)
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
