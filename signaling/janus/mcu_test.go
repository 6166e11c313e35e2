package janus

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room"
)

// mcuMember is a participant joined through a plugin over WebSocket.
type mcuMember struct {
	c        *wsClient
	sid, hid uint64
	id       uint64
	peer     *testpeer.Peer
}

func joinPlugin(t *testing.T, s *server, plugin string, body M, opts testpeer.Options) (*mcuMember, M) {
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
	peer, err := testpeer.New(opts)
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
	s.gw.Register(NewVideoMCU(s.rooms, s.webrtc, quietLog(), nil))

	red := codec.RGB(220, 30, 30)
	cam, joined := joinPlugin(t, s, videoMCUPkg, M{"room": 1234, "display": "camera", "video_codec": "vp8"},
		testpeer.Options{ToneHz: 440, Video: "vp8", VideoColor: red})
	if joined["mcu"] != "joined" {
		t.Fatalf("joined: %v", joined)
	}
	if v, _ := joined["video"].(map[string]any); num(v, "width") != 1280 || v["layout"] != "grid" {
		t.Fatalf("joined.video: %v", joined["video"])
	}
	// An audio-only AudioBridge participant in the same room.
	ab, _ := joinPlugin(t, s, audioBridgePkg, M{"room": 1234, "display": "phone"}, testpeer.Options{ToneHz: 660})
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

// AudioBridge's changeroom moves the participant with its PeerConnection,
// as Janus does: no new offer, and it hears the new room. A join may carry
// the offer itself.
func TestChangeroomKeepsMediaAndJoinWithOffer(t *testing.T) {
	s := newServer(t, Options{})
	if _, err := s.rooms.Create(room.Config{ID: 99, Description: "Other"}); err != nil {
		t.Fatal(err)
	}
	mover, _ := joinPlugin(t, s, audioBridgePkg, M{"room": 1234, "display": "mover"}, testpeer.Options{ToneHz: 440})
	stay, _ := joinPlugin(t, s, audioBridgePkg, M{"room": 1234, "display": "stay"}, testpeer.Options{ToneHz: 660})

	// Someone in room 99 joins with the offer in the join request.
	other := &mcuMember{c: dialWS(t, s)}
	other.c.send(M{"janus": "create", "transaction": "c"})
	other.sid = num(other.c.tx("c"), "data", "id")
	other.c.send(M{"janus": "attach", "session_id": other.sid, "plugin": audioBridgePkg, "transaction": "a"})
	other.hid = num(other.c.tx("a"), "data", "id")
	peer, err := testpeer.New(testpeer.Options{ToneHz: 990})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = peer.Close() })
	offer, _ := peer.Offer()
	other.c.send(M{"janus": "message", "session_id": other.sid, "handle_id": other.hid, "transaction": "j",
		"body": M{"request": "join", "room": 99, "display": "other"}, "jsep": M{"type": "offer", "sdp": offer}})
	joined := other.c.tx("j")
	jsep, _ := joined["jsep"].(map[string]any)
	if pluginData(joined)["audiobridge"] != "joined" || jsep == nil {
		t.Fatalf("join with an offer: %v", joined)
	}
	if err := peer.Accept(jsep["sdp"].(string)); err != nil {
		t.Fatal(err)
	}

	hearsAt := func(p *testpeer.Peer, f float64) bool {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if p.Level(f, 500*time.Millisecond) > 0.15 {
				return true
			}
		}
		return false
	}
	if !hearsAt(mover.peer, 660) {
		t.Fatal("no audio in room 1234")
	}
	mover.c.send(M{"janus": "message", "session_id": mover.sid, "handle_id": mover.hid, "transaction": "ch",
		"body": M{"request": "changeroom", "room": 99, "display": "mover"}})
	changed := pluginData(mover.c.tx("ch"))
	if changed["audiobridge"] != "roomchanged" || num(changed, "room") != 99 {
		t.Fatalf("changeroom: %v", changed)
	}
	stay.c.wait("leaving", func(e M) bool { return num(pluginData(e), "leaving") == mover.id })
	if !hearsAt(mover.peer, 990) || !hearsAt(peer, 440) {
		t.Errorf("after changeroom without a new offer: mover hears room 99 at %.3f, room 99 hears it at %.3f",
			mover.peer.Level(990, 500*time.Millisecond), peer.Level(440, 500*time.Millisecond))
	}
	// A changeroom to a room that refuses it leaves the participant where
	// it was.
	mover.c.send(M{"janus": "message", "session_id": mover.sid, "handle_id": mover.hid, "transaction": "ch2",
		"body": M{"request": "changeroom", "room": 777}})
	if d := pluginData(mover.c.tx("ch2")); num(d, "error_code") != abNoSuchRoom {
		t.Fatalf("changeroom to no room: %v", d)
	}
	if !hearsAt(mover.peer, 990) {
		t.Error("a refused changeroom took the participant out of its room")
	}
}

// A viewer may cap its tier and is told where it is; recording a room
// needs its secret, even from inside; joined says whether it records.
func TestVideoMCUTierAndRecordingControls(t *testing.T) {
	s := newServer(t, Options{})
	mcu := NewVideoMCU(s.rooms, s.webrtc, quietLog(), nil)
	mcu.SetRecording(room.RecordOptions{Dir: t.TempDir()})
	s.gw.Register(mcu)
	v, joined := joinPlugin(t, s, videoMCUPkg, M{"room": 1234, "display": "small screen", "video_codec": "h264", "tier": 1},
		testpeer.Options{Video: "h264", RecvOnly: true})
	if joined["recording"] != false {
		t.Fatalf("joined: %v", joined)
	}
	tier := v.c.wait("tier event", func(e M) bool { _, ok := pluginData(e)["video"]; return ok })
	if tv, _ := pluginData(tier)["video"].(map[string]any); num(tv, "tier") != 1 || num(tv, "width") != 640 {
		t.Fatalf("tier event: %v", tier)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if f := v.peer.VideoFrame(); f != nil {
			if f.Width != 640 {
				t.Fatalf("viewer capped at tier 1 decodes %dx%d", f.Width, f.Height)
			}
			break
		}
	}
	if d := v.sync(t, M{"request": "configure", "tier": 7}); num(d, "error_code") != abInvalidElement {
		t.Errorf("configure with a tier the room lacks: %v", d)
	}

	if d := v.sync(t, M{"request": "record", "action": "start"}); num(d, "error_code") != abUnauthorized {
		t.Fatalf("record without the secret: %v", d)
	}
	if d := v.sync(t, M{"request": "record", "action": "start", "secret": "adminpwd"}); d["mcu"] != "success" {
		t.Fatalf("record with the secret: %v", d)
	}
	v.c.wait("recording event", func(e M) bool { return pluginData(e)["recording"] == true })
	late, joinedLate := joinPlugin(t, s, videoMCUPkg, M{"room": 1234, "display": "late"}, testpeer.Options{ToneHz: 440})
	if joinedLate["recording"] != true {
		t.Errorf("a late joiner is not told the room records: %v", joinedLate)
	}
	if d := late.sync(t, M{"request": "record", "action": "start", "secret": "adminpwd"}); num(d, "error_code") != abInvalidRequest {
		t.Errorf("second start: %v", d)
	}
	if d := late.sync(t, M{"request": "record", "action": "stop", "secret": "adminpwd"}); d["mcu"] != "success" {
		t.Errorf("stop: %v", d)
	}
}

// fakeHandle records the events a plugin session sends.
type fakeHandle struct {
	mu     sync.Mutex
	events []any
}

func (f *fakeHandle) ID() uint64        { return 2 }
func (f *fakeHandle) SessionID() uint64 { return 1 }
func (f *fakeHandle) Event(data any, _ *JSEP) {
	f.mu.Lock()
	f.events = append(f.events, data)
	f.mu.Unlock()
}
func (f *fakeHandle) WebRTCUp()                          {}
func (f *fakeHandle) Media(string, string, bool)         {}
func (f *fakeHandle) HangupEvent(string)                 {}
func (f *fakeHandle) SlowLink(string, string, bool, int) {}
func (f *fakeHandle) Notify(any)                         {}

// A client too slow for the room's events (its subscription overflowed)
// is sent the whole participant list (everyone but itself, as in joined),
// so its list is right again.
func TestSlowClientGetsTheWholeList(t *testing.T) {
	s := newServer(t, Options{})
	r, _ := s.rooms.Get(1234)
	sub := r.Subscribe(1)
	var self room.ParticipantID
	for _, name := range []string{"a", "b", "c"} {
		me, _, err := r.Join(context.Background(), room.JoinRequest{Display: name})
		if err != nil {
			t.Fatal(err)
		}
		if self == 0 {
			self = me.ID
		}
	}
	if sub.Dropped() == 0 {
		t.Fatal("the subscription did not overflow")
	}
	h := &fakeHandle{}
	ab := NewAudioBridge(s.rooms, s.webrtc, quietLog())
	sess := &roomSession{plugin: ab, h: h}
	done := make(chan struct{})
	go func() { sess.forward(r, self, sub); close(done) }()
	time.Sleep(200 * time.Millisecond)
	sub.Close()
	<-done
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.events {
		list, ok := e.(M)["participants"].([]M)
		if !ok || len(list) < 2 {
			continue
		}
		for _, p := range list {
			if p["id"] == self {
				t.Fatalf("the list sent to a lists itself: %v", list)
			}
		}
		if len(list) == 2 {
			return
		}
	}
	t.Fatalf("no event with the two other participants after lost events: %v", h.events)
}
