package janus

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/room"
)

// discardSink takes a stream and keeps nothing.
type discardSink struct{}

func (discardSink) WriteVideo([]byte, bool, time.Duration) error { return nil }
func (discardSink) WriteAudio([]int16, time.Duration) error      { return nil }

// sinkStreamer starts real room streams into discardSink, refusing URLs
// that are not rtmp:// as a pusher would.
type sinkStreamer struct{}

func (sinkStreamer) Push(ctx context.Context, r *room.Room, url string) (room.StreamInfo, error) {
	if !strings.HasPrefix(url, "rtmp://") {
		return room.StreamInfo{}, fmt.Errorf("%w: %q is no rtmp:// URL", room.ErrInvalidValue, url)
	}
	return r.StartStream(ctx, room.StreamOptions{Name: "rtmp://ingest/live/…"}, discardSink{})
}

// The stream request starts, lists and stops a room's pushes, with the
// room's secret; a participant in the room hears of each; bad requests
// get AudioBridge's codes.
func TestStreamRequest(t *testing.T) {
	s := newServer(t, Options{})
	mcu := NewVideoMCU(s.rooms, s.webrtc, quietLog(), nil)
	mcu.SetStreamer(sinkStreamer{})
	s.gw.Register(mcu)

	// A participant of room 1234, to hear the events.
	member := dialWS(t, s)
	member.send(M{"janus": "create", "transaction": "c"})
	msid := num(member.tx("c"), "data", "id")
	member.send(M{"janus": "attach", "session_id": msid, "plugin": videoMCUPkg, "transaction": "a"})
	mhid := num(member.tx("a"), "data", "id")
	member.send(M{"janus": "message", "session_id": msid, "handle_id": mhid, "transaction": "j",
		"body": M{"request": "join", "room": 1234, "display": "member"}})
	member.wait("joined", func(m M) bool { return pluginData(m)["mcu"] == "joined" })

	c := dialWS(t, s)
	c.send(M{"janus": "create", "transaction": "c"})
	sid := num(c.tx("c"), "data", "id")
	c.send(M{"janus": "attach", "session_id": sid, "plugin": videoMCUPkg, "transaction": "a"})
	hid := num(c.tx("a"), "data", "id")
	n := 0
	call := func(body M) M {
		n++
		tx := fmt.Sprint("r", n)
		c.send(M{"janus": "message", "session_id": sid, "handle_id": hid, "transaction": tx, "body": body})
		return pluginData(c.tx(tx))
	}
	for _, tc := range []struct {
		body M
		code uint64
	}{
		{M{"request": "stream", "action": "start", "room": 1234, "url": "rtmp://ingest/live/key"}, abUnauthorized},
		{M{"request": "stream", "action": "start", "room": 1234, "secret": "adminpwd"}, abMissingElement},
		{M{"request": "stream", "action": "start", "room": 1234, "secret": "adminpwd", "url": "http://x"}, abInvalidElement},
		{M{"request": "stream", "action": "jump", "room": 1234, "secret": "adminpwd"}, abInvalidElement},
		{M{"request": "stream", "action": "stop", "room": 1234, "secret": "adminpwd", "id": 42}, abInvalidElement},
		{M{"request": "stream", "action": "list", "room": 99, "secret": "adminpwd"}, abNoSuchRoom},
	} {
		if d := call(tc.body); num(d, "error_code") != tc.code {
			t.Errorf("%v: %v, want error %d", tc.body, d, tc.code)
		}
	}
	d := call(M{"request": "stream", "action": "start", "room": 1234, "secret": "adminpwd", "url": "rtmp://ingest/live/key"})
	id := num(d, "stream", "id")
	if id == 0 || d["mcu"] != "success" {
		t.Fatalf("start: %v", d)
	}
	member.wait("starting event", func(m M) bool {
		pd := pluginData(m)
		return pd["streaming"] == "starting" && num(pd, "stream", "id") == id
	})
	d = call(M{"request": "stream", "action": "list", "room": 1234, "secret": "adminpwd"})
	if list, _ := d["streams"].([]any); len(list) != 1 {
		t.Errorf("list: %v", d)
	}
	d = call(M{"request": "list"})
	if rooms, _ := d["list"].([]any); len(rooms) != 1 || num(rooms[0].(map[string]any), "streams") != 1 {
		t.Errorf("room list does not count the stream: %v", d)
	}
	d = call(M{"request": "stream", "action": "stop", "room": 1234, "secret": "adminpwd", "id": id})
	if d["mcu"] != "success" {
		t.Fatalf("stop: %v", d)
	}
	member.wait("stream-stopped event", func(m M) bool {
		pd := pluginData(m)
		return pd["streaming"] == "stream-stopped" && pd["reason"] == "stopped"
	})
}
