package janus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-mcu/tessera/room"
)

// syncBuffer is a log sink for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Ten wrong room secrets from one address lock it out: its next check is
// refused with the wrong secret's code (489) even with the right secret,
// over HTTP and WebSocket alike and for PINs too, while another address
// is served. The refusals make a summary, not a log line each.
func TestSecretGuessesLockTheClientOut(t *testing.T) {
	s := newServer(t, Options{})
	var logs syncBuffer
	s.gw.Register(NewAudioBridge(s.rooms, s.webrtc, slog.New(slog.NewTextHandler(&logs, nil))))
	if _, err := s.rooms.Create(room.Config{ID: 42, Pin: "4321"}); err != nil {
		t.Fatal(err)
	}
	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	post := func(c *http.Client, path, body string) M {
		t.Helper()
		resp, err := c.Post(s.http.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m M
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	handle := func(c *http.Client) string {
		sid := num(post(c, "/janus", `{"janus":"create","transaction":"c"}`), "data", "id")
		hid := num(post(c, fmt.Sprintf("/janus/%d", sid), `{"janus":"attach","plugin":"janus.plugin.audiobridge","transaction":"a"}`), "data", "id")
		return fmt.Sprintf("/janus/%d/%d", sid, hid)
	}
	edit := func(c *http.Client, hp, secret string) M {
		return pluginData(post(c, hp, `{"janus":"message","transaction":"e","body":{"request":"edit","room":1234,"new_description":"x","secret":"`+secret+`"}}`))
	}

	attacker := from("127.0.0.1")
	hp := handle(attacker)
	for i := range 10 {
		if d := edit(attacker, hp, fmt.Sprintf("guess%d", i)); num(d, "error_code") != abUnauthorized {
			t.Fatalf("guess %d: %v", i, d)
		}
	}
	if d := edit(attacker, hp, "adminpwd"); num(d, "error_code") != abUnauthorized {
		t.Fatalf("the right secret after 10 wrong ones is compared: %v", d)
	}
	// The same address over WebSocket, joining with the right PIN.
	c := dialWS(t, s)
	c.send(M{"janus": "create", "transaction": "c"})
	sid := num(c.tx("c"), "data", "id")
	c.send(M{"janus": "attach", "session_id": sid, "plugin": audioBridgePkg, "transaction": "a"})
	hid := num(c.tx("a"), "data", "id")
	c.send(M{"janus": "message", "session_id": sid, "handle_id": hid, "transaction": "j", "body": M{"request": "join", "room": 42, "pin": "4321"}})
	if d := pluginData(c.tx("j")); num(d, "error_code") != abUnauthorized {
		t.Fatalf("join with the right PIN from a locked-out address: %v", d)
	}

	other := from("127.0.0.2")
	if d := edit(other, handle(other), "adminpwd"); d["audiobridge"] != "edited" {
		t.Fatalf("another address with the right secret: %v", d)
	}
	if n := strings.Count(logs.String(), "\n"); n > 2 {
		t.Fatalf("%d log lines for 12 refusals:\n%s", n, logs.String())
	}
}
