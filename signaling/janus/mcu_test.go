package janus

import (
	"context"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/room/roomtest"
)

// mcuMember is a participant joined through a plugin over WebSocket.
type mcuMember struct {
	c        *wsClient
	sid, hid uint64
	id       uint64
	peer     *roomtest.Peer
}

func joinPlugin(t *testing.T, s *server, plugin string, body M, opts roomtest.Options) (*mcuMember, M) {
	t.Helper()
	m := &mcuMember{c: dialWS(t, s)}
	m.c.send(M{"janus": "create", "transaction": "c"})
	m.sid = num(m.c.tx("c"), "data", "id")
	m.c.send(M{"janus": "attach", "session_id": m.sid, "plugin": plugin, "transaction": "a"})
	m.hid = num(m.c.tx("a"), "data", "id")
	body["request"] = "join"
	m.c.send(M{"janus": "message", "session_id": m.sid, "handle_id": m.hid, "transaction": "j", "body": body})
	joined := pluginData(m.c.tx("j"))
	m.id = num(joined, "id")
	if m.id == 0 {
		t.Fatalf("join: %v", joined)
	}
	peer, err := roomtest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = peer.Close() })
	m.peer = peer
	offer, err := peer.Offer()
	if err != nil {
		t.Fatal(err)
	}
	m.c.send(M{"janus": "message", "session_id": m.sid, "handle_id": m.hid, "transaction": "cfg",
		"body": M{"request": "configure"}, "jsep": M{"type": "offer", "sdp": offer}})
	ev := m.c.tx("cfg")
	jsep, _ := ev["jsep"].(map[string]any)
	if jsep == nil {
		t.Fatalf("configure: %v", ev)
	}
	if err := peer.Accept(jsep["sdp"].(string)); err != nil {
		t.Fatal(err)
	}
	m.c.wait("webrtcup", func(e M) bool { return e["janus"] == "webrtcup" })
	return m, joined
}

func (m *mcuMember) sync(t *testing.T, body M) M {
	t.Helper()
	m.c.send(M{"janus": "message", "session_id": m.sid, "handle_id": m.hid, "transaction": "s", "body": body})
	return pluginData(m.c.tx("s"))
}

func TestVideoMCUPluginWithAudioBridgeNeighbour(t *testing.T) {
	s := newServer(t, Options{})
	s.gw.Register(NewVideoMCU(s.rooms, quietLog(), nil))

	red := codec.RGB(220, 30, 30)
	cam, joined := joinPlugin(t, s, videoMCUPkg, M{"room": 1234, "display": "camera", "video_codec": "vp8"},
		roomtest.Options{ToneHz: 440, Video: "vp8", VideoColor: red})
	if joined["mcu"] != "joined" {
		t.Fatalf("joined: %v", joined)
	}
	if v, _ := joined["video"].(map[string]any); num(v, "width") != 1280 || v["layout"] != "grid" {
		t.Fatalf("joined.video: %v", joined["video"])
	}
	// An audio-only AudioBridge participant in the same room.
	ab, _ := joinPlugin(t, s, audioBridgePkg, M{"room": 1234, "display": "phone"}, roomtest.Options{ToneHz: 660})
	cam.c.wait("phone joined", func(e M) bool { return pluginData(e)["mcu"] == "joined" })

	// They hear each other.
	ok := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !ok; time.Sleep(100 * time.Millisecond) {
		ok = cam.peer.Level(660, time.Second) > 0.15 && ab.peer.Level(440, time.Second) > 0.15
	}
	if !ok {
		t.Fatalf("camera hears phone at %.3f, phone hears camera at %.3f", cam.peer.Level(660, time.Second), ab.peer.Level(440, time.Second))
	}

	// The composite shows the camera and a placeholder tile for the phone.
	tiles := cam.sync(t, M{"request": "tiles", "room": 1234})
	list, _ := tiles["tiles"].([]any)
	if tiles["mcu"] != "tiles" || len(list) != 2 {
		t.Fatalf("tiles: %v", tiles)
	}
	var camTile, phoneTile map[string]any
	for _, x := range list {
		tile := x.(map[string]any)
		switch num(tile, "participant") {
		case cam.id:
			camTile = tile
		case ab.id:
			phoneTile = tile
		}
	}
	if camTile == nil || phoneTile == nil {
		t.Fatalf("tiles %v lack camera %d or phone %d", list, cam.id, ab.id)
	}
	mean := func(f *codec.Frame, tile map[string]any) codec.YUV {
		k := float64(f.Width) / 1280
		x, y := int(float64(num(tile, "x"))*k), int(float64(num(tile, "y"))*k)
		w, h := int(float64(num(tile, "width"))*k), int(float64(num(tile, "height"))*k)
		return f.Mean(codec.R(x+w*3/10, y+h*3/10, w*4/10, h*3/10))
	}
	var f *codec.Frame
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if f = cam.peer.VideoFrame(); f != nil && mean(f, camTile).Distance(red) < 25 {
			break
		}
	}
	if f == nil || mean(f, camTile).Distance(red) >= 25 {
		t.Fatalf("camera tile not red in the composite")
	}
	if c := mean(f, phoneTile); c.Distance(red) < 40 || c.Y < 20 {
		t.Errorf("phone's placeholder tile looks like %+v", c)
	}

	// Layout control: presentation pinned on the camera, announced to all.
	got := cam.sync(t, M{"request": "layout", "layout": "presentation", "pin": cam.id})
	if got["mcu"] != "success" || got["layout"] != "presentation" {
		t.Fatalf("layout: %v", got)
	}
	cam.c.wait("layout event", func(e M) bool { return pluginData(e)["layout"] == "presentation" })
	r, _ := s.rooms.Get(1234)
	if kind, pinned, _ := r.Layout(context.Background()); kind.String() != "presentation" || uint64(pinned) != cam.id {
		t.Fatalf("room layout %v pinned %d", kind, pinned)
	}
	if d := cam.sync(t, M{"request": "layout", "layout": "mosaic"}); num(d, "error_code") != abInvalidElement {
		t.Errorf("bad layout: %v", d)
	}
	if d := cam.sync(t, M{"request": "layout", "layout": "presentation"}); num(d, "error_code") != abMissingElement {
		t.Errorf("presentation without pin: %v", d)
	}
	// Someone outside the room needs the secret.
	out := &mcuMember{c: dialWS(t, s)}
	out.c.send(M{"janus": "create", "transaction": "c"})
	out.sid = num(out.c.tx("c"), "data", "id")
	out.c.send(M{"janus": "attach", "session_id": out.sid, "plugin": videoMCUPkg, "transaction": "a"})
	out.hid = num(out.c.tx("a"), "data", "id")
	if d := out.sync(t, M{"request": "layout", "room": 1234, "layout": "grid"}); num(d, "error_code") != abUnauthorized {
		t.Errorf("layout without secret: %v", d)
	}
	if d := out.sync(t, M{"request": "layout", "room": 1234, "layout": "grid", "secret": "adminpwd"}); d["mcu"] != "success" {
		t.Errorf("layout with secret: %v", d)
	}
	if d := out.sync(t, M{"request": "join", "room": 1234, "video_codec": "av1"}); num(d, "error_code") != abInvalidElement {
		t.Errorf("unknown video codec: %v", d)
	}
	// AudioBridge has no layout request.
	if d := ab.sync(t, M{"request": "layout", "layout": "grid"}); num(d, "error_code") != abInvalidRequest {
		t.Errorf("layout on audiobridge: %v", d)
	}
}
