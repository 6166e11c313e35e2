package janus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tessera-mcu/tessera/internal/inbox"
	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/rtc"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// server is a gateway with the AudioBridge plugin on a real room manager,
// served over HTTP and WebSocket.
type server struct {
	gw     *Gateway
	rooms  *room.Manager
	webrtc *rtc.Engine
	http   *httptest.Server
}

func newServer(t *testing.T, opts Options) *server {
	t.Helper()
	webrtc, err := rtc.NewEngine(rtc.EngineConfig{BindIP: "127.0.0.1", DisableTCP: true, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	rooms, err := room.NewManager(room.ManagerConfig{Workers: 1, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rooms.Create(room.Config{ID: 1234, Description: "Demo Room", Secret: "adminpwd", AudioLevelEvents: true}); err != nil {
		t.Fatal(err)
	}
	opts.Logger = quietLog()
	gw := NewGateway(opts)
	gw.Register(NewAudioBridge(rooms, webrtc, quietLog()))
	mux := http.NewServeMux()
	rest, ws := gw.HTTPHandler("/janus"), gw.WSHandler()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsWebSocket(r) {
			ws.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
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

// post sends a raw body and decodes the JSON reply.
func (s *server) post(t *testing.T, path, body string) M {
	t.Helper()
	resp, err := http.Post(s.http.URL+path, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m M
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("POST %s %s: undecodable reply: %v", path, body, err)
	}
	return m
}

func (s *server) poll(t *testing.T, session uint64) M {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/janus/%d?maxev=1", s.http.URL, session))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m M
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return m
}

func num(m M, path ...string) uint64 {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return 0
		}
		v = mm[k]
	}
	f, _ := v.(float64)
	return uint64(f)
}

func errCode(m M) int {
	if m["janus"] != "error" {
		return 0
	}
	return int(num(m, "error", "code"))
}

func pluginData(m M) M {
	pd, _ := m["plugindata"].(map[string]any)
	d, _ := pd["data"].(map[string]any)
	return d
}

func TestCoreErrors(t *testing.T) {
	s := newServer(t, Options{})
	create := s.post(t, "/janus", `{"janus":"create","transaction":"c"}`)
	sid := num(create, "data", "id")
	if sid == 0 || create["session_id"] != nil {
		t.Fatalf("create reply %v: want data.id and no session_id", create)
	}
	att := s.post(t, fmt.Sprintf("/janus/%d", sid), `{"janus":"attach","plugin":"janus.plugin.audiobridge","transaction":"a"}`)
	hid := num(att, "data", "id")
	sp, hp := fmt.Sprintf("/janus/%d", sid), fmt.Sprintf("/janus/%d/%d", sid, hid)
	offerSDP := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
	for _, tc := range []struct {
		name, path, body string
		code             int
	}{
		{"invalid JSON", "/janus", `{"janus":`, CodeInvalidJSON},
		{"JSON string", "/janus", `"create"`, CodeInvalidJSON},
		{"JSON array", "/janus", `[1,2]`, CodeInvalidJSONObject},
		{"JSON null", "/janus", `null`, CodeInvalidJSON},
		{"invalid UTF-8 in a string", "/janus", "{\"janus\":\"create\xff\",\"transaction\":\"x\"}", CodeInvalidJSON},
		{"invalid UTF-8 in a session request", sp, "{\"janus\":\"keepalive\",\"transaction\":\"\xc3\x28\"}", CodeInvalidJSON},
		{"missing janus", "/janus", `{"transaction":"x"}`, CodeMissingMandatory},
		{"missing transaction", "/janus", `{"janus":"create"}`, CodeMissingMandatory},
		{"janus not a string", "/janus", `{"janus":5,"transaction":"x"}`, CodeInvalidElementType},
		{"unknown request at root", "/janus", `{"janus":"fly","transaction":"x"}`, CodeInvalidRequestPath},
		{"unknown request in session", sp, `{"janus":"fly","transaction":"x"}`, CodeUnknownRequest},
		{"no such session", "/janus/12345", `{"janus":"keepalive","transaction":"x"}`, CodeSessionNotFound},
		{"no such handle", sp + "/777", `{"janus":"message","body":{},"transaction":"x"}`, CodeHandleNotFound},
		{"no such plugin", sp, `{"janus":"attach","plugin":"janus.plugin.nope","transaction":"x"}`, CodePluginNotFound},
		{"attach without plugin", sp, `{"janus":"attach","transaction":"x"}`, CodeMissingMandatory},
		{"handle request at session", sp, `{"janus":"message","body":{},"transaction":"x"}`, CodeInvalidRequestPath},
		{"session request at handle", hp, `{"janus":"attach","plugin":"janus.plugin.audiobridge","transaction":"x"}`, CodeInvalidRequestPath},
		{"path and body differ", sp, fmt.Sprintf(`{"janus":"keepalive","session_id":%d,"transaction":"x"}`, sid+1), CodeInvalidRequestPath},
		{"session id wrong type", "/janus", `{"janus":"keepalive","session_id":"abc","transaction":"x"}`, CodeInvalidElementType},
		{"message without body", hp, `{"janus":"message","transaction":"x"}`, CodeMissingMandatory},
		{"body not object", hp, `{"janus":"message","body":"join","transaction":"x"}`, CodeInvalidElementType},
		{"unknown jsep type", hp, `{"janus":"message","body":{"request":"configure"},"jsep":{"type":"pranswer","sdp":"v=0"},"transaction":"x"}`, CodeJSEPUnknownType},
		{"garbage SDP", hp, `{"janus":"message","body":{"request":"configure"},"jsep":{"type":"offer","sdp":"hello"},"transaction":"x"}`, CodeJSEPInvalidSDP},
		{"unexpected answer", hp, `{"janus":"message","body":{"request":"configure"},"jsep":{"type":"answer","sdp":` + jsonString(offerSDP) + `},"transaction":"x"}`, CodeUnexpectedAnswer},
		{"trickle without candidate", hp, `{"janus":"trickle","transaction":"x"}`, CodeMissingMandatory},
		{"trickle with both", hp, `{"janus":"trickle","candidate":{"completed":true},"candidates":[],"transaction":"x"}`, CodeInvalidJSON},
		{"session id conflict", "/janus", fmt.Sprintf(`{"janus":"create","id":%d,"transaction":"x"}`, sid), CodeSessionConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := s.post(t, tc.path, tc.body)
			if errCode(got) != tc.code {
				t.Fatalf("reply %v, want error %d", got, tc.code)
			}
		})
	}
	// Oversized body.
	big := `{"janus":"keepalive","transaction":"` + strings.Repeat("x", DefaultMaxBody) + `"}`
	if got := s.post(t, sp, big); errCode(got) != CodeInvalidJSON {
		t.Fatalf("oversized body: %v", got)
	}
	// The session survived all of that.
	if got := s.post(t, sp, `{"janus":"keepalive","transaction":"k"}`); got["janus"] != "ack" {
		t.Fatalf("keepalive after errors: %v", got)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestInfoPingAndCORS(t *testing.T) {
	s := newServer(t, Options{})
	resp, err := http.Get(s.http.URL + "/janus/info")
	if err != nil {
		t.Fatal(err)
	}
	var info M
	_ = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	plugins, _ := info["plugins"].(map[string]any)
	if info["janus"] != "server_info" || plugins[audioBridgePkg] == nil {
		t.Fatalf("info: %v", info)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatal("no CORS header")
	}
	req, _ := http.NewRequest(http.MethodOptions, s.http.URL+"/janus", nil)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Headers") != "content-type" || resp.Header.Get("Access-Control-Max-Age") != "86400" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	if got := s.post(t, "/janus", `{"janus":"ping","transaction":"p"}`); got["janus"] != "pong" {
		t.Fatalf("ping: %v", got)
	}
	resp, _ = http.Get(s.http.URL + "/janus/424242")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("poll on unknown session: %d", resp.StatusCode)
	}
}

func TestLongPollKeepaliveAndBatch(t *testing.T) {
	s := newServer(t, Options{PollTimeout: 200 * time.Millisecond})
	sid := num(s.post(t, "/janus", `{"janus":"create","transaction":"c"}`), "data", "id")
	if got := s.poll(t, sid); got["janus"] != "keepalive" {
		t.Fatalf("idle poll: %v", got)
	}
	sp := fmt.Sprintf("/janus/%d", sid)
	hid := num(s.post(t, sp, `{"janus":"attach","plugin":"janus.plugin.audiobridge","transaction":"a"}`), "data", "id")
	hp := fmt.Sprintf("%s/%d", sp, hid)
	// Two async requests: two events, fetched in one poll with maxev=5.
	for _, tx := range []string{"j1", "j2"} {
		if got := s.post(t, hp, `{"janus":"message","body":{"request":"join","room":1234},"transaction":"`+tx+`"}`); got["janus"] != "ack" {
			t.Fatalf("join: %v", got)
		}
	}
	// Every poll with maxev > 1 answers an array (the two events usually
	// come in one; a slow machine may split them).
	var evs []M
	for deadline := time.Now().Add(5 * time.Second); len(evs) < 2 && time.Now().Before(deadline); {
		resp, err := http.Get(s.http.URL + sp + "?maxev=5")
		if err != nil {
			t.Fatal(err)
		}
		var batch []M
		if err := json.NewDecoder(resp.Body).Decode(&batch); err != nil {
			t.Fatalf("maxev=5 poll is not an array: %v", err)
		}
		resp.Body.Close()
		for _, e := range batch {
			if e["janus"] != "keepalive" {
				evs = append(evs, e)
			}
		}
	}
	if len(evs) != 2 || evs[0]["transaction"] != "j1" || evs[1]["transaction"] != "j2" {
		t.Fatalf("batch: %v", evs)
	}
	if d := pluginData(evs[0]); d["audiobridge"] != "joined" || num(evs[0], "sender") != hid {
		t.Fatalf("first join: %v", evs[0])
	}
	if d := pluginData(evs[1]); num(d, "error_code") != abAlreadyJoined {
		t.Fatalf("second join: %v", evs[1])
	}
}

// wsClient speaks the Janus API over a WebSocket.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	msgs chan M
	in   *inbox.Inbox[M] // waits on msgs; holds what it passes over
}

func dialWS(t *testing.T, s *server) *wsClient {
	t.Helper()
	url := "ws" + strings.TrimPrefix(s.http.URL, "http") + "/janus"
	d := websocket.Dialer{Subprotocols: []string{Subprotocol}}
	conn, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Sec-WebSocket-Protocol") != Subprotocol {
		t.Fatal("subprotocol not echoed")
	}
	c := &wsClient{t: t, conn: conn, msgs: make(chan M, 256)}
	c.in = inbox.New[M](c.msgs)
	go func() {
		defer close(c.msgs)
		for {
			var m M
			if err := conn.ReadJSON(&m); err != nil {
				return
			}
			c.msgs <- m
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return c
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	if err := c.conn.WriteJSON(v); err != nil {
		c.t.Fatal(err)
	}
}

// wait returns the first message, received or to come within 10 s,
// matching f; others are kept for later waits.
func (c *wsClient) wait(what string, f func(M) bool) M {
	c.t.Helper()
	m, err := c.in.Wait(10*time.Second, f)
	if err != nil {
		c.t.Fatalf("waiting for %s: %v", what, err)
	}
	return m
}

func (c *wsClient) tx(tx string) M {
	return c.wait("reply to "+tx, func(m M) bool { return m["transaction"] == tx && m["janus"] != "ack" })
}

func TestWebSocketNeedsSubprotocol(t *testing.T) {
	s := newServer(t, Options{})
	url := "ws" + strings.TrimPrefix(s.http.URL, "http") + "/janus"
	_, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil {
		t.Fatal("connection without janus-protocol accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("refusal: %v", resp)
	}
}

func TestWebSocketSessionsDieWithSocket(t *testing.T) {
	s := newServer(t, Options{})
	c := dialWS(t, s)
	// Two requests in one frame are both answered.
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(`{"janus":"create","transaction":"a"}{"janus":"ping","transaction":"b"}`)); err != nil {
		t.Fatal(err)
	}
	sid := num(c.tx("a"), "data", "id")
	if got := c.tx("b"); got["janus"] != "pong" {
		t.Fatalf("second object in frame: %v", got)
	}
	c.send(M{"janus": "attach", "session_id": sid, "plugin": audioBridgePkg, "transaction": "att"})
	hid := num(c.tx("att"), "data", "id")
	c.send(M{"janus": "message", "session_id": sid, "handle_id": hid, "transaction": "j", "body": M{"request": "join", "room": 1234, "display": "ws"}})
	if d := pluginData(c.tx("j")); d["audiobridge"] != "joined" {
		t.Fatalf("join: %v", d)
	}
	r, _ := s.rooms.Get(1234)
	if ps, _ := r.Participants(context.Background()); len(ps) != 1 {
		t.Fatalf("participants after join: %d", len(ps))
	}
	c.conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ps, _ := r.Participants(context.Background()); len(ps) == 0 && s.gw.session(sid) == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("closing the socket left its session or participant behind")
}

// Create inside a session is the wrong place; a WebSocket session is not
// reachable by long poll (its events go to the socket) until it is
// claimed over HTTP.
func TestWebSocketEdges(t *testing.T) {
	s := newServer(t, Options{})
	c := dialWS(t, s)
	c.send(M{"janus": "create", "transaction": "c"})
	sid := num(c.tx("c"), "data", "id")
	c.send(M{"janus": "create", "session_id": sid, "transaction": "c2"})
	if got := c.tx("c2"); errCode(got) != CodeUnknownRequest {
		t.Fatalf("create inside a session: %v", got)
	}
	c.send(M{"janus": "create", "session_id": 12345, "transaction": "c3"})
	if got := c.tx("c3"); errCode(got) != CodeSessionNotFound {
		t.Fatalf("create inside an unknown session: %v", got)
	}

	resp, err := http.Get(fmt.Sprintf("%s/janus/%d", s.http.URL, sid))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("long poll of a WebSocket session: HTTP %d, want 404", resp.StatusCode)
	}
	// Claimed over HTTP, the session's events go to the long poll.
	if got := s.post(t, fmt.Sprintf("/janus/%d", sid), `{"janus":"claim","transaction":"cl"}`); got["janus"] != "success" {
		t.Fatalf("claim: %v", got)
	}
	attach := s.post(t, fmt.Sprintf("/janus/%d", sid), fmt.Sprintf(`{"janus":"attach","plugin":%q,"transaction":"a"}`, audioBridgePkg))
	hid := num(attach, "data", "id")
	s.post(t, fmt.Sprintf("/janus/%d/%d", sid, hid), `{"janus":"message","transaction":"j","body":{"request":"join","room":1234}}`)
	if got := s.poll(t, sid); pluginData(got)["audiobridge"] != "joined" {
		t.Fatalf("event after the claim: %v", got)
	}
}

func TestSessionTimeout(t *testing.T) {
	s := newServer(t, Options{SessionTimeout: time.Second})
	c := dialWS(t, s)
	c.send(M{"janus": "create", "transaction": "c"})
	sid := num(c.tx("c"), "data", "id")
	start := time.Now()
	got := c.wait("timeout", func(m M) bool { return m["janus"] == "timeout" })
	if num(got, "session_id") != sid || time.Since(start) > 3*time.Second {
		t.Fatalf("timeout event %v after %v", got, time.Since(start))
	}
	c.send(M{"janus": "keepalive", "session_id": sid, "transaction": "k"})
	if got := c.tx("k"); errCode(got) != CodeSessionNotFound {
		t.Fatalf("keepalive after timeout: %v", got)
	}
}

// A whole AudioBridge session over WebSocket with real WebRTC peers:
// create, attach, join, configure with an offer, ICE/DTLS up (webrtcup),
// audio both ways, participant events, leave, detach, destroy.
func TestAudioBridgeSessionOverWebSocket(t *testing.T) {
	s := newServer(t, Options{})
	type member struct {
		c    *wsClient
		sid  uint64
		hid  uint64
		id   uint64
		peer *testpeer.Peer
	}
	joinRoom := func(name string, tone float64) *member {
		m := &member{c: dialWS(t, s)}
		m.c.send(M{"janus": "create", "transaction": "c"})
		m.sid = num(m.c.tx("c"), "data", "id")
		m.c.send(M{"janus": "attach", "session_id": m.sid, "plugin": audioBridgePkg, "transaction": "a"})
		m.hid = num(m.c.tx("a"), "data", "id")
		m.c.send(M{"janus": "message", "session_id": m.sid, "handle_id": m.hid, "transaction": "j",
			"body": M{"request": "join", "room": 1234, "display": name}})
		joined := m.c.tx("j")
		if d := pluginData(joined); d["audiobridge"] != "joined" || num(joined, "sender") != m.hid {
			t.Fatalf("join: %v", joined)
		}
		m.id = num(pluginData(joined), "id")
		peer, err := testpeer.New(testpeer.Options{ToneHz: tone})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = peer.Close() })
		m.peer = peer
		offer, cands, err := peer.OfferTrickle()
		if err != nil {
			t.Fatal(err)
		}
		m.c.send(M{"janus": "message", "session_id": m.sid, "handle_id": m.hid, "transaction": "cfg",
			"body": M{"request": "configure", "muted": false}, "jsep": M{"type": "offer", "sdp": offer}})
		ev := m.c.tx("cfg")
		jsep, _ := ev["jsep"].(map[string]any)
		if d := pluginData(ev); d["result"] != "ok" || jsep["type"] != "answer" {
			t.Fatalf("configure: %v", ev)
		}
		if err := peer.Accept(jsep["sdp"].(string)); err != nil {
			t.Fatal(err)
		}
		for c := range cands {
			m.c.send(M{"janus": "trickle", "session_id": m.sid, "handle_id": m.hid, "transaction": "t", "candidate": c})
		}
		m.c.send(M{"janus": "trickle", "session_id": m.sid, "handle_id": m.hid, "transaction": "t", "candidate": M{"completed": true}})
		m.c.wait("webrtcup", func(e M) bool { return e["janus"] == "webrtcup" && num(e, "sender") == m.hid })
		return m
	}
	a := joinRoom("alice", 440)
	// alice sees bob join.
	b := joinRoom("bob", 660)
	a.c.wait("bob joined", func(e M) bool {
		d := pluginData(e)
		ps, _ := d["participants"].([]any)
		return d["audiobridge"] == "joined" && len(ps) == 1 && num(ps[0].(map[string]any), "id") == b.id
	})
	a.c.wait("media event", func(e M) bool { return e["janus"] == "media" && e["type"] == "audio" && e["receiving"] == true })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if a.peer.Level(660, time.Second) >= 0.15 && b.peer.Level(440, time.Second) >= 0.15 {
			break
		}
	}
	if lvl := a.peer.Level(660, time.Second); lvl < 0.15 {
		t.Errorf("alice hears bob at %.3f", lvl)
	}
	if lvl := b.peer.Level(440, time.Second); lvl < 0.15 {
		t.Errorf("bob hears alice at %.3f", lvl)
	}
	if lvl := a.peer.Level(440, time.Second); lvl > 0.01 {
		t.Errorf("alice hears herself at %.3f", lvl)
	}

	// listparticipants is synchronous: success with plugindata.
	a.c.send(M{"janus": "message", "session_id": a.sid, "handle_id": a.hid, "transaction": "lp", "body": M{"request": "listparticipants", "room": 1234}})
	lp := a.c.tx("lp")
	if ps, _ := pluginData(lp)["participants"].([]any); lp["janus"] != "success" || len(ps) != 2 {
		t.Fatalf("listparticipants: %v", lp)
	}

	// bob leaves: alice gets "leaving".
	b.c.send(M{"janus": "message", "session_id": b.sid, "handle_id": b.hid, "transaction": "l", "body": M{"request": "leave"}})
	if d := pluginData(b.c.tx("l")); d["audiobridge"] != "left" {
		t.Fatalf("leave: %v", d)
	}
	a.c.wait("leaving", func(e M) bool { return num(pluginData(e), "leaving") == b.id })
	b.c.send(M{"janus": "detach", "session_id": b.sid, "handle_id": b.hid, "transaction": "d"})
	if got := b.c.tx("d"); got["janus"] != "success" {
		t.Fatalf("detach: %v", got)
	}
	b.c.wait("detached", func(e M) bool { return e["janus"] == "detached" && num(e, "sender") == b.hid })
	b.c.send(M{"janus": "destroy", "session_id": b.sid, "transaction": "x"})
	if got := b.c.tx("x"); got["janus"] != "success" || num(got, "session_id") != b.sid {
		t.Fatalf("destroy: %v", got)
	}
}

func TestAudioBridgeRoomManagement(t *testing.T) {
	s := newServer(t, Options{})
	sid := num(s.post(t, "/janus", `{"janus":"create","transaction":"c"}`), "data", "id")
	sp := fmt.Sprintf("/janus/%d", sid)
	hid := num(s.post(t, sp, `{"janus":"attach","plugin":"janus.plugin.audiobridge","transaction":"a"}`), "data", "id")
	hp := fmt.Sprintf("%s/%d", sp, hid)
	sync := func(body string) M {
		t.Helper()
		got := s.post(t, hp, `{"janus":"message","transaction":"s","body":`+body+`}`)
		if got["janus"] != "success" {
			t.Fatalf("%s: %v", body, got)
		}
		return pluginData(got)
	}
	if d := sync(`{"request":"create","room":42,"description":"Team","secret":"s3","pin":"p1"}`); d["audiobridge"] != "created" || num(d, "room") != 42 {
		t.Fatalf("create: %v", d)
	}
	if d := sync(`{"request":"create","room":42}`); num(d, "error_code") != abRoomExists {
		t.Fatalf("create twice: %v", d)
	}
	if d := sync(`{"request":"exists","room":42}`); d["exists"] != true {
		t.Fatalf("exists: %v", d)
	}
	if d := sync(`{"request":"exists","room":43}`); d["exists"] != false {
		t.Fatalf("exists 43: %v", d)
	}
	list := sync(`{"request":"list"}`)
	rooms, _ := list["list"].([]any)
	if len(rooms) != 2 {
		t.Fatalf("list: %v", list)
	}
	if d := sync(`{"request":"edit","room":42,"secret":"wrong","new_description":"x"}`); num(d, "error_code") != abUnauthorized {
		t.Fatalf("edit with wrong secret: %v", d)
	}
	if d := sync(`{"request":"edit","room":42,"secret":"s3","new_description":"Renamed"}`); d["audiobridge"] != "edited" {
		t.Fatalf("edit: %v", d)
	}
	if d := sync(`{"request":"listparticipants","room":99}`); num(d, "error_code") != abNoSuchRoom {
		t.Fatalf("listparticipants unknown room: %v", d)
	}
	if d := sync(`{"request":"exists"}`); num(d, "error_code") != abMissingElement {
		t.Fatalf("exists without room: %v", d)
	}
	if d := sync(`{"request":"exists","room":"42"}`); num(d, "error_code") != abInvalidElement {
		t.Fatalf("room as string: %v", d)
	}
	if d := sync(`{"request":"explode"}`); num(d, "error_code") != abInvalidRequest {
		t.Fatalf("unknown request: %v", d)
	}
	if d := sync(`{}`); num(d, "error_code") != abMissingElement {
		t.Fatalf("no request: %v", d)
	}
	// Joining with a wrong pin is refused (async: ack, then the event).
	s.post(t, hp, `{"janus":"message","transaction":"jp","body":{"request":"join","room":42,"pin":"nope"}}`)
	if d := pluginData(s.poll(t, sid)); num(d, "error_code") != abUnauthorized {
		t.Fatalf("wrong pin: %v", d)
	}
	s.post(t, hp, `{"janus":"message","transaction":"jr","body":{"request":"join","room":777}}`)
	if d := pluginData(s.poll(t, sid)); num(d, "error_code") != abNoSuchRoom {
		t.Fatalf("unknown room: %v", d)
	}
	s.post(t, hp, `{"janus":"message","transaction":"cf","body":{"request":"configure","muted":true}}`)
	if d := pluginData(s.poll(t, sid)); num(d, "error_code") != abNotJoined {
		t.Fatalf("configure before join: %v", d)
	}
	s.post(t, hp, `{"janus":"message","transaction":"j","body":{"request":"join","room":42,"pin":"p1","display":"me","id":5}}`)
	if d := pluginData(s.poll(t, sid)); d["audiobridge"] != "joined" || num(d, "id") != 5 {
		t.Fatalf("join: %v", d)
	}
	if d := sync(`{"request":"mute","room":42,"id":5,"secret":"s3"}`); d["audiobridge"] != "success" {
		t.Fatalf("mute: %v", d)
	}
	r, _ := s.rooms.Get(42)
	if p, _ := r.Participant(context.Background(), 5); !p.Muted {
		t.Fatal("mute had no effect")
	}
	// The muted participant is told too (it did not ask for it).
	if d := pluginData(s.poll(t, sid)); !strings.Contains(fmt.Sprint(d["participants"]), "muted:true") {
		t.Fatalf("muted participant's event: %v", d)
	}
	if d := sync(`{"request":"kick","room":42,"id":6,"secret":"s3"}`); num(d, "error_code") != abNoSuchUser {
		t.Fatalf("kick unknown: %v", d)
	}
	if d := sync(`{"request":"kick","room":42,"id":5,"secret":"s3"}`); d["audiobridge"] != "success" {
		t.Fatalf("kick: %v", d)
	}
	if d := pluginData(s.poll(t, sid)); num(d, "kicked") != 5 {
		t.Fatalf("kicked event: %v", d)
	}
	if d := sync(`{"request":"destroy","room":42,"secret":"s3"}`); d["audiobridge"] != "destroyed" {
		t.Fatalf("destroy: %v", d)
	}
	if d := sync(`{"request":"exists","room":42}`); d["exists"] != false {
		t.Fatalf("exists after destroy: %v", d)
	}
}

func FuzzRequest(f *testing.F) {
	for _, seed := range []string{
		`{"janus":"create","transaction":"a"}`,
		`{"janus":"attach","session_id":1,"plugin":"janus.plugin.audiobridge","transaction":"b"}`,
		`{"janus":"message","session_id":1,"handle_id":2,"body":{"request":"join","room":1234},"transaction":"c"}`,
		`{"janus":"message","session_id":1,"handle_id":2,"body":{"request":"configure"},"jsep":{"type":"offer","sdp":"v=0\r\n"},"transaction":"d"}`,
		`{"janus":"trickle","session_id":1,"handle_id":2,"candidates":[{"candidate":"x"},{"completed":true}],"transaction":"e"}`,
		`{"janus":"keepalive","session_id":null,"transaction":"f"}`,
		`[{"janus":"ping"}]`, `"str"`, `{"janus":1}`, ``,
	} {
		f.Add([]byte(seed))
	}
	gw := NewGateway(Options{Logger: quietLog()})
	defer gw.Close()
	gw.Register(NewAudioBridge(emptyRooms{}, nil, quietLog()))
	f.Fuzz(func(t *testing.T, body []byte) {
		reply := gw.process(context.Background(), body, route{}, nil).msg
		if reply["janus"] == nil {
			t.Fatalf("reply without janus: %v", reply)
		}
		if _, err := json.Marshal(reply); err != nil {
			t.Fatalf("unencodable reply: %v", err)
		}
		if bytes.Contains(body, []byte(`"create"`)) && reply["janus"] == "success" {
			if id := num(reply, "data", "id"); id != 0 {
				gw.destroySession(gw.session(id), "")
			}
		}
	})
}

// emptyRooms is a room manager with no rooms, for fuzzing the protocol.
type emptyRooms struct{}

func (emptyRooms) Create(room.Config) (*room.Room, error)     { return nil, room.ErrClosed }
func (emptyRooms) Get(room.RoomID) (*room.Room, error)        { return nil, room.ErrRoomNotFound }
func (emptyRooms) Destroy(context.Context, room.RoomID) error { return room.ErrRoomNotFound }
func (emptyRooms) Summaries() []room.Summary                  { return nil }

// claim moves a session created over HTTP to a WebSocket: its events then
// arrive on the socket.
func TestClaimMovesSessionToWebSocket(t *testing.T) {
	s := newServer(t, Options{})
	sid := num(s.post(t, "/janus", `{"janus":"create","transaction":"c"}`), "data", "id")
	hid := num(s.post(t, fmt.Sprintf("/janus/%d", sid), `{"janus":"attach","plugin":"janus.plugin.audiobridge","transaction":"a"}`), "data", "id")
	c := dialWS(t, s)
	c.send(M{"janus": "claim", "session_id": sid, "transaction": "cl"})
	if got := c.tx("cl"); got["janus"] != "success" {
		t.Fatalf("claim: %v", got)
	}
	c.send(M{"janus": "message", "session_id": sid, "handle_id": hid, "transaction": "j", "body": M{"request": "join", "room": 1234}})
	if d := pluginData(c.tx("j")); d["audiobridge"] != "joined" {
		t.Fatalf("join over the claimed session: %v", d)
	}
}

// Session IDs stay within 1..2^53-1, exact as JavaScript numbers: a
// client may pick its own only in that range (467 otherwise, as Janus
// answers an ID it cannot use), and the ones handed out are there too.
func TestSessionIDsFitJavaScript(t *testing.T) {
	s := newServer(t, Options{})
	for _, id := range []string{"9007199254740992", "18446744073709551615"} {
		if got := s.post(t, "/janus", `{"janus":"create","id":`+id+`,"transaction":"x"}`); errCode(got) != CodeInvalidElementType {
			t.Errorf("create with id %s: %v, want error %d", id, got, CodeInvalidElementType)
		}
	}
	got := s.post(t, "/janus", `{"janus":"create","id":9007199254740991,"transaction":"x"}`)
	if num(got, "data", "id") != 1<<53-1 {
		t.Errorf("create with id 2^53-1: %v", got)
	}
	for range 200 {
		sid := num(s.post(t, "/janus", `{"janus":"create","transaction":"c"}`), "data", "id")
		hid := num(s.post(t, fmt.Sprintf("/janus/%d", sid), `{"janus":"attach","plugin":"janus.plugin.audiobridge","transaction":"a"}`), "data", "id")
		if sid == 0 || sid >= 1<<53 || hid == 0 || hid >= 1<<53 {
			t.Fatalf("session %d, handle %d", sid, hid)
		}
	}
}
