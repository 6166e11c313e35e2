package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// startServer runs the server with extra flags until the test ends and
// returns its HTTP address.
func startServer(t *testing.T, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	args := append([]string{"-listen", "127.0.0.1:0", "-media-port", "0", "-media-bind", "127.0.0.1", "-ws-listen", "", "-sip-listen", ""}, extra...)
	go func() { done <- run(ctx, args, env(nil), io.Discard, ready) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	select {
	case addr := <-ready:
		return addr
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	return ""
}

// closedWithin reports whether the server closes conn (a read ends with
// EOF or a reset, after any answer) within d.
func closedWithin(conn net.Conn, d time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// Slow headers, slow bodies and idle keep-alive connections are closed
// after their timeouts; a long poll and a WebSocket with a session outlive
// all of them; a WebSocket that creates no session is closed; a body or a
// WebSocket message over its limit is refused.
func TestConnectionLimits(t *testing.T) {
	addr := startServer(t, "-read-header-timeout", "300ms", "-read-timeout", "500ms", "-idle-timeout", "500ms",
		"-ws-session-wait", "700ms", "-max-body", "2000", "-ws-max-message", "4096")
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	slowHeaders := dial()
	fmt.Fprintf(slowHeaders, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	slowBody := dial()
	fmt.Fprintf(slowBody, "POST /janus HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"janus\":")
	idle := dial()
	fmt.Fprintf(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for name, c := range map[string]net.Conn{"slow headers": slowHeaders, "slow body": slowBody, "idle keep-alive": idle} {
		if !closedWithin(c, 3*time.Second) {
			t.Errorf("%s connection still open after 3 s", name)
		}
	}

	post := func(path, body string) map[string]any {
		t.Helper()
		resp, err := http.Post("http://"+addr+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	id := func(m map[string]any) uint64 {
		d, _ := m["data"].(map[string]any)
		f, _ := d["id"].(float64)
		return uint64(f)
	}

	// A body over -max-body.
	big := post("/janus", `{"janus":"create","transaction":"`+strings.Repeat("x", 2000)+`"}`)
	if e, _ := big["error"].(map[string]any); e == nil || e["code"] != float64(454) {
		t.Errorf("body over the limit: %v", big)
	}

	// A long poll waits past the read and idle timeouts and gets the
	// event that comes later.
	sid := id(post("/janus", `{"janus":"create","transaction":"c"}`))
	polled := make(chan map[string]any, 1)
	go func() {
		var m map[string]any
		if resp, err := http.Get(fmt.Sprintf("http://%s/janus/%d", addr, sid)); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
		}
		polled <- m
	}()

	// WebSockets: one with a session, one without.
	d := websocket.Dialer{Subprotocols: []string{"janus-protocol"}}
	withSession, _, err := d.Dial("ws://"+addr+"/janus", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer withSession.Close()
	noSession, _, err := d.Dial("ws://"+addr+"/janus", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer noSession.Close()
	var created map[string]any
	if err := withSession.WriteJSON(map[string]any{"janus": "create", "transaction": "c"}); err != nil {
		t.Fatal(err)
	}
	if err := withSession.ReadJSON(&created); err != nil || id(created) == 0 {
		t.Fatalf("create over WebSocket: %v %v", created, err)
	}

	time.Sleep(1500 * time.Millisecond)
	select {
	case m := <-polled:
		t.Fatalf("long poll ended after the read timeout: %v", m)
	default:
	}
	hid := id(post(fmt.Sprintf("/janus/%d", sid), `{"janus":"attach","plugin":"janus.plugin.audiobridge","transaction":"a"}`))
	post(fmt.Sprintf("/janus/%d/%d", sid, hid), `{"janus":"detach","transaction":"d"}`)
	select {
	case m := <-polled:
		if m["janus"] != "detached" {
			t.Errorf("long poll: %v, want the detached event", m)
		}
	case <-time.After(5 * time.Second):
		t.Error("long poll got no event")
	}

	if err := withSession.WriteJSON(map[string]any{"janus": "keepalive", "session_id": id(created), "transaction": "k"}); err != nil {
		t.Fatal(err)
	}
	var ack map[string]any
	if err := withSession.ReadJSON(&ack); err != nil || ack["janus"] != "ack" {
		t.Errorf("WebSocket with a session after the timeouts: %v %v", ack, err)
	}
	_ = noSession.SetReadDeadline(time.Now().Add(3 * time.Second))
	var ce *websocket.CloseError
	if _, _, err := noSession.ReadMessage(); !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
		t.Errorf("WebSocket without a session: %v, want close code 1008", err)
	}

	// A message over -ws-max-message closes the socket with 1009.
	pad := `{"janus":"ping","transaction":"` + strings.Repeat("x", 4096) + `"}`
	if err := withSession.WriteMessage(websocket.TextMessage, []byte(pad)); err != nil {
		t.Fatal(err)
	}
	_ = withSession.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		_, _, err := withSession.ReadMessage()
		if err == nil {
			continue
		}
		if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
			t.Errorf("WebSocket message over the limit: %v, want close code 1009", err)
		}
		break
	}
}
