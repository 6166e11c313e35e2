package janus

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// dialRaw opens a Janus WebSocket without a reader of its own.
func dialRaw(t *testing.T, s *server) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(s.http.URL, "http") + "/janus"
	d := websocket.Dialer{Subprotocols: []string{Subprotocol}}
	conn, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// closeCode reads until the socket closes and returns the close code the
// server sent (0 for none), failing after d.
func closeCode(t *testing.T, conn *websocket.Conn, d time.Duration) int {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(d))
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		t.Fatalf("socket not closed with a close code: %v", err)
	}
}

// A message within the limit is answered; one past it closes the socket
// with 1009 (message too big).
func TestWebSocketMessageLimit(t *testing.T) {
	s := newServer(t, Options{})
	conn := dialRaw(t, s)
	pad := func(n int) string {
		return `{"janus":"ping","transaction":"p","pad":"` + strings.Repeat("x", n) + `"}`
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte(pad(DefaultWSMaxMessage-100))); err != nil {
		t.Fatal(err)
	}
	var m M
	if err := conn.ReadJSON(&m); err != nil || m["janus"] != "pong" {
		t.Fatalf("message within the limit: %v %v", m, err)
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte(pad(DefaultWSMaxMessage))); err != nil {
		t.Fatal(err)
	}
	if code := closeCode(t, conn, 5*time.Second); code != websocket.CloseMessageTooBig {
		t.Fatalf("oversized message: close code %d, want %d", code, websocket.CloseMessageTooBig)
	}
}

// A socket that creates no session is closed after WSSessionWait with
// 1008; one that created a session stays.
func TestWebSocketWithoutSessionIsClosed(t *testing.T) {
	s := newServer(t, Options{WSSessionWait: 300 * time.Millisecond})
	idle := dialRaw(t, s)
	c := dialWS(t, s)
	c.send(M{"janus": "create", "transaction": "c"})
	sid := num(c.tx("c"), "data", "id")

	start := time.Now()
	if code := closeCode(t, idle, 5*time.Second); code != websocket.ClosePolicyViolation {
		t.Fatalf("idle socket: close code %d, want %d", code, websocket.ClosePolicyViolation)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("idle socket closed after %v", d)
	}
	time.Sleep(500 * time.Millisecond)
	c.send(M{"janus": "keepalive", "session_id": sid, "transaction": "k"})
	if got := c.wait("ack", func(m M) bool { return m["transaction"] == "k" }); got["janus"] != "ack" {
		t.Fatalf("keepalive on the socket with a session: %v", got)
	}
}

// A body over MaxBody gets 454 naming the limit; one under it is read.
func TestHTTPBodyLimit(t *testing.T) {
	s := newServer(t, Options{MaxBody: 1000})
	sid := num(s.post(t, "/janus", `{"janus":"create","transaction":"c"}`), "data", "id")
	sp := fmt.Sprintf("/janus/%d", sid)
	body := func(n int) string { return `{"janus":"keepalive","transaction":"` + strings.Repeat("x", n) + `"}` }
	if got := s.post(t, sp, body(900)); got["janus"] != "ack" {
		t.Fatalf("body under the limit: %v", got)
	}
	got := s.post(t, sp, body(1000))
	reason, _ := got["error"].(map[string]any)["reason"].(string)
	if errCode(got) != CodeInvalidJSON || !strings.Contains(reason, "larger than 1000 bytes") {
		t.Fatalf("body over the limit: %v", got)
	}
}
