package janus

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/rtc"
	"github.com/tessera-mcu/tessera/signaling/events"
	"github.com/tessera-mcu/tessera/signaling/events/eventstest"
)

// newEventServer is newServer with an event dispatcher on the gateway and
// the room manager, and recordings going to a temporary folder.
func newEventServer(t *testing.T, d *events.Dispatcher) *server {
	t.Helper()
	webrtc, err := rtc.NewEngine(rtc.EngineConfig{BindIP: "127.0.0.1", DisableTCP: true, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	rooms, err := room.NewManager(room.ManagerConfig{Workers: 1, Logger: quietLog(), Lifecycle: events.Rooms{Sink: d}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rooms.Create(room.Config{ID: 1234, Description: "Demo Room", Secret: "adminpwd", AudioLevelEvents: true}); err != nil {
		t.Fatal(err)
	}
	gw := NewGateway(Options{Logger: quietLog(), Events: d})
	ab := NewAudioBridge(rooms, webrtc, quietLog())
	ab.SetRecording(room.RecordOptions{Dir: t.TempDir()})
	gw.Register(ab)
	rest, ws := gw.HTTPHandler("/janus"), gw.WSHandler()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsWebSocket(r) {
			ws.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
	mux := http.NewServeMux()
	mux.Handle("/janus", api)
	mux.Handle("/janus/", api)
	s := &server{gw: gw, rooms: rooms, webrtc: webrtc, http: httptest.NewServer(mux)}
	t.Cleanup(func() {
		s.http.Close()
		gw.Close()
		_ = rooms.Close(context.Background())
		_ = webrtc.Close()
	})
	return s
}

// pollFor long-polls the session until an event matches f.
func (s *server) pollFor(t *testing.T, sid uint64, what string, f func(M) bool) M {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		if m := s.poll(t, sid); f(m) {
			return m
		}
	}
	t.Fatalf("no %s", what)
	return nil
}

// A Janus client's whole life over the HTTP transport, with a real peer:
// the receiver gets, in order and signed, the room's creation, the
// session, the handle, the offer, the join and the answer, webrtcup, the
// recording's end, the leave, the detach and the session's end.
func TestEventHandlersSeeClientFlow(t *testing.T) {
	secret := []byte("hook-key")
	rcv := eventstest.New(t, secret)
	d, err := events.New(events.Options{Backends: []string{rcv.URL}, Secret: secret, BatchDelay: 20 * time.Millisecond, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	s := newEventServer(t, d)

	sid := num(s.post(t, "/janus", `{"janus":"create","transaction":"c"}`), "data", "id")
	hid := num(s.post(t, fmt.Sprintf("/janus/%d", sid),
		`{"janus":"attach","plugin":"janus.plugin.audiobridge","opaque_id":"evtest-1","transaction":"a"}`), "data", "id")
	if sid == 0 || hid == 0 {
		t.Fatal("create or attach failed")
	}
	hpath := fmt.Sprintf("/janus/%d/%d", sid, hid)
	peer, err := testpeer.New(testpeer.Options{ToneHz: 440})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	offer, err := peer.Offer()
	if err != nil {
		t.Fatal(err)
	}
	join, _ := json.Marshal(M{"janus": "message", "transaction": "j", "body": M{"request": "join", "room": 1234, "display": "hooked"},
		"jsep": M{"type": "offer", "sdp": offer}})
	if m := s.post(t, hpath, string(join)); m["janus"] != "ack" {
		t.Fatalf("join: %v", m)
	}
	joined := s.pollFor(t, sid, "joined with an answer", func(m M) bool { return m["transaction"] == "j" })
	jsep, _ := joined["jsep"].(map[string]any)
	pid := num(pluginData(joined), "id")
	if jsep == nil || pid == 0 {
		t.Fatalf("join event: %v", joined)
	}
	if err := peer.Accept(jsep["sdp"].(string)); err != nil {
		t.Fatal(err)
	}
	s.pollFor(t, sid, "webrtcup", func(m M) bool { return m["janus"] == "webrtcup" })

	record := func(on bool) {
		body, _ := json.Marshal(M{"janus": "message", "transaction": "r", "body": M{"request": "enable_recording", "room": 1234,
			"secret": "adminpwd", "record": on}})
		if d := pluginData(s.post(t, hpath, string(body))); d["audiobridge"] != "success" {
			t.Fatalf("enable_recording %v: %v", on, d)
		}
	}
	record(true)
	time.Sleep(500 * time.Millisecond)
	record(false)

	if m := s.post(t, hpath, `{"janus":"message","transaction":"l","body":{"request":"leave"}}`); m["janus"] != "ack" {
		t.Fatalf("leave: %v", m)
	}
	s.pollFor(t, sid, "left", func(m M) bool { return m["transaction"] == "l" })
	s.post(t, hpath, `{"janus":"detach","transaction":"d"}`)
	s.post(t, fmt.Sprintf("/janus/%d", sid), `{"janus":"destroy","transaction":"x"}`)

	type step struct {
		what string
		ok   func(e eventstest.Event) bool
	}
	mine := func(e eventstest.Event) bool {
		return e.SessionID == sid && e.HandleID == hid && e.OpaqueID == "evtest-1"
	}
	pluginEvent := func(name, event string) func(e eventstest.Event) bool {
		return func(e eventstest.Event) bool {
			p, data := e.Plugin()
			return p == name && data["event"] == event
		}
	}
	var recording map[string]any
	steps := []step{
		{"room created", func(e eventstest.Event) bool {
			_, data := e.Plugin()
			return pluginEvent(events.RoomPlugin, "created")(e) && data["room"] == 1234.0 && data["description"] == "Demo Room"
		}},
		{"session created", func(e eventstest.Event) bool {
			tr, _ := e.Event["transport"].(map[string]any)
			return e.Type == events.TypeSession && e.SessionID == sid && e.Event["name"] == "created" && tr["transport"] == transportHTTP
		}},
		{"handle attached", func(e eventstest.Event) bool {
			return e.Type == events.TypeHandle && mine(e) && e.Event["name"] == "attached" &&
				e.Event["plugin"] == audioBridgePkg && e.Event["opaque_id"] == "evtest-1"
		}},
		{"remote offer", func(e eventstest.Event) bool {
			j, _ := e.Event["jsep"].(map[string]any)
			return e.Type == events.TypeJSEP && mine(e) && e.Event["owner"] == "remote" && j["type"] == "offer" && j["sdp"] == offer
		}},
		{"joined", func(e eventstest.Event) bool {
			_, data := e.Plugin()
			return mine(e) && pluginEvent(audioBridgePkg, "joined")(e) && data["room"] == 1234.0 &&
				uint64(data["id"].(float64)) == pid && data["display"] == "hooked"
		}},
		{"local answer", func(e eventstest.Event) bool {
			j, _ := e.Event["jsep"].(map[string]any)
			return e.Type == events.TypeJSEP && mine(e) && e.Event["owner"] == "local" && j["type"] == "answer" &&
				strings.HasPrefix(j["sdp"].(string), "v=0")
		}},
		{"webrtcup", func(e eventstest.Event) bool {
			return e.Type == events.TypeWebRTC && e.Subtype == events.SubtypeConnection && mine(e) && e.Event["connection"] == "webrtcup"
		}},
		{"recording finished", func(e eventstest.Event) bool {
			if !pluginEvent(events.RoomPlugin, "recording-finished")(e) {
				return false
			}
			_, recording = e.Plugin()
			return true
		}},
		{"left", func(e eventstest.Event) bool {
			_, data := e.Plugin()
			return mine(e) && pluginEvent(audioBridgePkg, "left")(e) && uint64(data["id"].(float64)) == pid
		}},
		{"handle detached", func(e eventstest.Event) bool {
			return e.Type == events.TypeHandle && mine(e) && e.Event["name"] == "detached"
		}},
		{"session destroyed", func(e eventstest.Event) bool {
			return e.Type == events.TypeSession && e.SessionID == sid && e.Event["name"] == "destroyed"
		}},
	}
	// The steps, in this order, among whatever else was sent (talking,
	// media, ICE and DTLS states).
	match := func(evs []eventstest.Event) (int, []eventstest.Event) {
		var found []eventstest.Event
		for _, e := range evs {
			if len(found) < len(steps) && steps[len(found)].ok(e) {
				found = append(found, e)
			}
		}
		return len(found), found
	}
	evs := rcv.Wait(t, "the whole flow", func(evs []eventstest.Event) bool {
		n, _ := match(evs)
		return n == len(steps)
	})
	if rcv.Bad() != 0 {
		t.Fatalf("%d POSTs with a bad signature", rcv.Bad())
	}
	_, found := match(evs)
	for i := 1; i < len(found); i++ {
		if found[i].Timestamp < found[i-1].Timestamp {
			t.Errorf("%s stamped before %s", steps[i].what, steps[i-1].what)
		}
	}
	path, _ := recording["path"].(string)
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 || int64(recording["size"].(float64)) != fi.Size() ||
		recording["duration"].(float64) <= 0 || recording["reason"] != "stopped" {
		t.Fatalf("recording-finished %v; file: %v", recording, err)
	}
}

// A backend that is down, or that never answers, costs the clients
// nothing: requests are answered, a peer joins and gets its media up,
// and the events that do not fit the queue are dropped and counted.
func TestEventHandlersNeverSlowTheServer(t *testing.T) {
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() + "/events"
	ln.Close()

	for name, url := range map[string]string{"down": down, "hung": hung.URL} {
		t.Run(name, func(t *testing.T) {
			d, err := events.New(events.Options{Backends: []string{url}, QueueLen: 4, BatchMax: 1, Timeout: time.Minute,
				FlushTimeout: 100 * time.Millisecond, Logger: quietLog()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(d.Close)
			s := newEventServer(t, d)
			// A blocked sink would hold a request past the client's timeout.
			client := &http.Client{Timeout: 5 * time.Second}
			post := func(path, body string) M {
				resp, err := client.Post(s.http.URL+path, "application/json", strings.NewReader(body))
				if err != nil {
					t.Fatalf("POST %s: %v", path, err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				var m M
				_ = json.Unmarshal(b, &m)
				return m
			}
			for i := 0; i < 20; i++ {
				sid := num(post("/janus", `{"janus":"create","transaction":"c"}`), "data", "id")
				hid := num(post(fmt.Sprintf("/janus/%d", sid), `{"janus":"attach","plugin":"janus.plugin.audiobridge","transaction":"a"}`), "data", "id")
				if sid == 0 || hid == 0 {
					t.Fatalf("cycle %d: create or attach failed", i)
				}
				post(fmt.Sprintf("/janus/%d/%d", sid, hid), `{"janus":"detach","transaction":"d"}`)
				post(fmt.Sprintf("/janus/%d", sid), `{"janus":"destroy","transaction":"x"}`)
			}
			// A real peer joins over WebSocket and its media comes up.
			m, _ := joinPlugin(t, s, audioBridgePkg, M{"room": 1234, "display": "p"}, testpeer.Options{ToneHz: 440})
			m.c.send(M{"janus": "message", "session_id": m.sid, "handle_id": m.hid, "transaction": "l", "body": M{"request": "leave"}})
			m.c.tx("l")
			st := d.Stats()
			if st.Dropped == 0 || st.Sent != 0 {
				t.Fatalf("stats %+v: want events dropped, none sent", st)
			}
		})
	}
}

// A session created over WebSocket that times out is reported as such,
// with its transport.
func TestEventHandlersSeeSessionTimeout(t *testing.T) {
	rcv := eventstest.New(t, nil)
	d, err := events.New(events.Options{Backends: []string{rcv.URL}, BatchDelay: 10 * time.Millisecond, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	s := newServer(t, Options{SessionTimeout: time.Second, Events: d})
	c := dialWS(t, s)
	c.send(M{"janus": "create", "transaction": "c"})
	sid := num(c.tx("c"), "data", "id")
	c.wait("timeout", func(m M) bool { return m["janus"] == "timeout" })
	evs := rcv.Wait(t, "created and timeout", func(evs []eventstest.Event) bool { return len(evs) >= 2 })
	tr, _ := evs[0].Event["transport"].(map[string]any)
	if evs[0].SessionID != sid || evs[0].Event["name"] != "created" || tr["transport"] != transportWS ||
		evs[1].SessionID != sid || evs[1].Event["name"] != "timeout" {
		t.Fatalf("events %+v", evs)
	}
}
