package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// janusClient speaks the Janus REST API to one server.
type janusClient struct {
	t    *testing.T
	base string
}

func newJanusClient(t *testing.T, addr string) janusClient {
	return janusClient{t: t, base: "http://" + addr + "/janus"}
}

// post sends body to base+path and returns the decoded answer.
func (c janusClient) post(path string, body map[string]any) map[string]any {
	c.t.Helper()
	if body["transaction"] == nil {
		body["transaction"] = "tx"
	}
	b, _ := json.Marshal(body)
	resp, err := http.Post(c.base+path, "application/json", bytes.NewReader(b))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		c.t.Fatal(err)
	}
	return out
}

// errCode is a Janus core error's code (0: no error).
func errCode(m map[string]any) int {
	if e, ok := m["error"].(map[string]any); ok {
		n, _ := e["code"].(float64)
		return int(n)
	}
	return 0
}

// pluginCode is a plugin answer's error_code (0: none).
func pluginCode(m map[string]any) (int, string) {
	pd, _ := m["plugindata"].(map[string]any)
	data, _ := pd["data"].(map[string]any)
	n, _ := data["error_code"].(float64)
	msg, _ := data["error"].(string)
	return int(n), msg
}

func (c janusClient) session() uint64 {
	c.t.Helper()
	m := c.post("", map[string]any{"janus": "create"})
	data, ok := m["data"].(map[string]any)
	if !ok {
		c.t.Fatalf("create: %v", m)
	}
	return uint64(data["id"].(float64))
}

func (c janusClient) attach(s uint64, plugin string) (uint64, map[string]any) {
	c.t.Helper()
	m := c.post(fmt.Sprint("/", s), map[string]any{"janus": "attach", "plugin": plugin})
	data, ok := m["data"].(map[string]any)
	if !ok {
		return 0, m
	}
	return uint64(data["id"].(float64)), m
}

func (c janusClient) message(s, h uint64, body map[string]any) map[string]any {
	c.t.Helper()
	return c.post(fmt.Sprint("/", s, "/", h), map[string]any{"janus": "message", "body": body})
}

// pluginEvent long-polls session s for the next plugin event of handle h.
func (c janusClient) pluginEvent(s, h uint64) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(fmt.Sprintf("%s/%d?maxev=10", c.base, s))
		if err != nil {
			c.t.Fatal(err)
		}
		var evs []map[string]any
		err = json.NewDecoder(resp.Body).Decode(&evs)
		resp.Body.Close()
		if err != nil {
			c.t.Fatal(err)
		}
		for _, e := range evs {
			if e["janus"] == "event" && uint64(e["sender"].(float64)) == h {
				return e
			}
		}
	}
	c.t.Fatalf("no event for handle %d", h)
	return nil
}

// Sessions and handles beyond their caps are refused with Janus's codes;
// the ones already open keep working, and a freed place can be taken.
func TestCapsSessionsAndHandles(t *testing.T) {
	c := newJanusClient(t, startServer(t, "-max-sessions", "2", "-max-handles", "2"))
	s1, s2 := c.session(), c.session()
	if m := c.post("", map[string]any{"janus": "create"}); errCode(m) != 472 {
		t.Fatalf("third session: %v, want error 472", m)
	}
	for _, s := range []uint64{s1, s2} {
		if m := c.post(fmt.Sprint("/", s), map[string]any{"janus": "keepalive"}); m["janus"] != "ack" {
			t.Errorf("session %d after the refusal: %v", s, m)
		}
	}
	for i := range 2 {
		if h, m := c.attach(s1, "janus.plugin.audiobridge"); h == 0 {
			t.Fatalf("handle %d: %v", i+1, m)
		}
	}
	if _, m := c.attach(s1, "janus.plugin.audiobridge"); errCode(m) != 461 || !strings.Contains(fmt.Sprint(m), "at most 2") {
		t.Fatalf("third handle: %v, want error 461 naming the cap", m)
	}
	if h, m := c.attach(s2, "janus.plugin.audiobridge"); h == 0 {
		t.Errorf("another session's handle: %v", m)
	}
	c.post(fmt.Sprint("/", s2), map[string]any{"janus": "destroy"})
	if m := c.post("", map[string]any{"janus": "create"}); errCode(m) != 0 {
		t.Errorf("create after a destroy: %v", m)
	}
}

// One address may create so many sessions a minute; beyond that create
// answers 472 while its sessions go on.
func TestCapsSessionRate(t *testing.T) {
	c := newJanusClient(t, startServer(t, "-session-rate", "3"))
	var ids []uint64
	for range 3 {
		ids = append(ids, c.session())
	}
	m := c.post("", map[string]any{"janus": "create"})
	if errCode(m) != 472 || !strings.Contains(fmt.Sprint(m), "a minute") {
		t.Fatalf("fourth session in a minute: %v, want error 472 naming the rate", m)
	}
	if m := c.post(fmt.Sprint("/", ids[0]), map[string]any{"janus": "keepalive"}); m["janus"] != "ack" {
		t.Errorf("a session of the refused address: %v", m)
	}
}

// A session takes so many long polls at once; one more is answered at
// once with 429, and the polls waiting are untouched.
func TestCapsLongPolls(t *testing.T) {
	addr := startServer(t, "-max-polls", "2")
	c := newJanusClient(t, addr)
	s := c.session()
	url := fmt.Sprintf("http://%s/janus/%d", addr, s)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(url)
			if err != nil {
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	time.Sleep(300 * time.Millisecond) // both are waiting
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || !bytes.Contains(body, []byte(`"code":450`)) || time.Since(start) > 2*time.Second {
		t.Fatalf("third poll: %d %s after %v, want 429 with error 450 at once", resp.StatusCode, body, time.Since(start))
	}
	// An event for the waiting polls: the session ends.
	c.post(fmt.Sprint("/", s), map[string]any{"janus": "destroy"})
	ended := time.Now()
	wg.Wait()
	if d := time.Since(ended); d > 5*time.Second {
		t.Errorf("the waiting polls returned %v after their session ended", d)
	}
	for i, code := range codes {
		if code != http.StatusOK {
			t.Errorf("waiting poll %d answered %d", i, code)
		}
	}
}

// Over its rate a WebSocket's requests are answered 450 and not run;
// every request gets exactly one answer, the socket and its session stay,
// and once the rate allows requests run again.
func TestCapsWebSocketRate(t *testing.T) {
	addr := startServer(t, "-ws-rate", "5")
	hdr := http.Header{"Sec-WebSocket-Protocol": {"janus-protocol"}}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/janus", hdr)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	call := func(req map[string]any) map[string]any {
		t.Helper()
		if err := ws.WriteJSON(req); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := call(map[string]any{"janus": "create", "transaction": "c"})
	s := uint64(m["data"].(map[string]any)["id"].(float64))
	const n = 40
	start := time.Now()
	for i := range n {
		if err := ws.WriteJSON(map[string]any{"janus": "keepalive", "session_id": s, "transaction": fmt.Sprint("k", i)}); err != nil {
			t.Fatal(err)
		}
	}
	acks, refused := 0, 0
	for range n {
		var m map[string]any
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("after %d acks and %d refusals: %v", acks, refused, err)
		}
		switch {
		case m["janus"] == "ack":
			acks++
		case errCode(m) == 450 && strings.HasPrefix(fmt.Sprint(m["transaction"]), "k"):
			refused++
		default:
			t.Fatalf("unexpected answer %v", m)
		}
	}
	// The burst is twice the rate (the create took one), and tokens came
	// at the rate meanwhile.
	allowed := 9 + int(5*time.Since(start).Seconds()) + 1
	if refused == 0 || acks < 9 || acks > allowed {
		t.Errorf("%d acks and %d refusals of %d requests in %v (rate 5/s, burst 10: at most %d)", acks, refused, n, time.Since(start), allowed)
	}
	time.Sleep(time.Second)
	if m := call(map[string]any{"janus": "keepalive", "session_id": s, "transaction": "later"}); m["janus"] != "ack" {
		t.Errorf("a request a second later: %v", m)
	}
}

// With an Origin list, a page from elsewhere cannot open a WebSocket (403
// with the reason); a listed page and a client with no Origin can.
func TestCapsWebSocketOrigin(t *testing.T) {
	addr := startServer(t, "-ws-origins", "https://meet.example.com")
	dial := func(origin string) (int, string) {
		hdr := http.Header{"Sec-WebSocket-Protocol": {"janus-protocol"}}
		if origin != "" {
			hdr.Set("Origin", origin)
		}
		ws, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/janus", hdr)
		if err == nil {
			ws.Close()
			return http.StatusSwitchingProtocols, ""
		}
		if resp == nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := dial("https://evil.example.net"); code != http.StatusForbidden || !strings.Contains(body, "origin not allowed") {
		t.Errorf("foreign origin: %d %q, want 403 with the reason", code, body)
	}
	if code, _ := dial("https://meet.example.com"); code != http.StatusSwitchingProtocols {
		t.Errorf("listed origin: %d", code)
	}
	if code, _ := dial(""); code != http.StatusSwitchingProtocols {
		t.Errorf("no origin: %d", code)
	}
}

// Rooms: with an admin key, create needs it (Janus's codes); beyond the
// room cap create is refused; beyond the server's participant cap join is
// refused, and the rooms and participants already there are untouched.
func TestCapsRoomsAndParticipants(t *testing.T) {
	c := newJanusClient(t, startServer(t, "-room-admin-key", "opensesame", "-max-rooms", "2", "-max-participants", "2"))
	s := c.session()
	h, m := c.attach(s, "janus.plugin.audiobridge")
	if h == 0 {
		t.Fatal(m)
	}
	for _, tc := range []struct {
		body map[string]any
		code int
		msg  string
	}{
		{map[string]any{"request": "create", "room": 7}, 483, "Missing mandatory element (admin_key)"},
		{map[string]any{"request": "create", "room": 7, "admin_key": "nope"}, 489, "Unauthorized (wrong admin_key)"},
		{map[string]any{"request": "create", "room": 7, "admin_key": 5}, 484, "Invalid element type (admin_key should be a string)"},
	} {
		if code, msg := pluginCode(c.message(s, h, tc.body)); code != tc.code || msg != tc.msg {
			t.Errorf("%v: %d %q, want %d %q", tc.body, code, msg, tc.code, tc.msg)
		}
	}
	// The demo room is the first of two.
	if m := c.message(s, h, map[string]any{"request": "create", "room": 7, "admin_key": "opensesame"}); fmt.Sprint(m["plugindata"]) == "" || strings.Contains(fmt.Sprint(m), "error") {
		t.Fatalf("create with the key: %v", m)
	}
	if code, msg := pluginCode(c.message(s, h, map[string]any{"request": "create", "room": 8, "admin_key": "opensesame"})); code != 489 || !strings.Contains(msg, "room limit") {
		t.Errorf("third room: %d %q, want 489 naming the limit", code, msg)
	}
	join := func(room int, name string) (int, string) {
		h, m := c.attach(s, "janus.plugin.audiobridge")
		if h == 0 {
			t.Fatal(m)
		}
		c.message(s, h, map[string]any{"request": "join", "room": room, "display": name})
		return pluginCode(c.pluginEvent(s, h))
	}
	if code, msg := join(1234, "a"); code != 0 {
		t.Fatalf("first join: %d %s", code, msg)
	}
	if code, msg := join(7, "b"); code != 0 {
		t.Fatalf("second join: %d %s", code, msg)
	}
	if code, msg := join(7, "c"); code != 489 || !strings.Contains(msg, "Server is full") {
		t.Errorf("third participant: %d %q, want 489 Server is full", code, msg)
	}
	m = c.message(s, h, map[string]any{"request": "listparticipants", "room": 7})
	pd, _ := m["plugindata"].(map[string]any)
	data, _ := pd["data"].(map[string]any)
	if ps, _ := data["participants"].([]any); len(ps) != 1 {
		t.Errorf("room 7 participants after the refusal: %v", data)
	}
}
