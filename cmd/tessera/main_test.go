package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRunServesHealthAndPageThenDrains(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var logs strings.Builder
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-log-format", "json", "-media-port", "0", "-media-bind", "127.0.0.1", "-ws-listen", "", "-sip-listen", ""}, env(nil), &syncWriter{b: &logs}, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("server did not start")
	}

	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&health); err != nil || health.Status != "ok" {
		t.Fatalf("healthz: %v %+v", err, health)
	}
	resp.Body.Close()

	// Ready: not draining, the workers ticking, the media port open.
	resp, err = http.Get("http://" + addr + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz of a running server: %v %v", err, resp.Status)
	}
	resp.Body.Close()

	resp, err = http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<title>Tessera") {
		t.Fatalf("page: %d %.80q", resp.StatusCode, body)
	}

	// A Janus client long-polling (30 s) while the server drains: its poll
	// ends with the session instead of holding the drain.
	resp, err = http.Post("http://"+addr+"/janus", "application/json", strings.NewReader(`{"janus":"create","transaction":"t"}`))
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Data struct{ ID uint64 } `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || created.Data.ID == 0 {
		t.Fatalf("create: %v %+v", err, created)
	}
	resp.Body.Close()
	polling := make(chan struct{})
	go func() {
		close(polling)
		if r, err := http.Get(fmt.Sprintf("http://%s/janus/%d", addr, created.Data.ID)); err == nil {
			r.Body.Close()
		}
	}()
	<-polling
	time.Sleep(200 * time.Millisecond) // the poll is waiting

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server did not drain")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Fatalf("no structured stop line in logs:\n%s", logs.String())
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	err := run(context.Background(), []string{"-log-format", "xml"}, env(nil), io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "log format") {
		t.Fatalf("err = %v", err)
	}
}

// With a drain delay, SIGTERM first makes /readyz fail while the server
// still serves its clients, and only then closes their sessions.
func TestRunDrainDelay(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-media-port", "0", "-media-bind", "127.0.0.1", "-ws-listen", "", "-sip-listen", "",
			"-drain-delay", "1500ms"}, env(nil), io.Discard, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("server did not start")
	}
	c := newJanusClient(t, addr)
	s := c.session()
	cancel()
	time.Sleep(300 * time.Millisecond)
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz during the drain delay: %d, want 503", resp.StatusCode)
	}
	if m := c.post(fmt.Sprint("/", s), map[string]any{"janus": "keepalive"}); m["janus"] != "ack" {
		t.Errorf("a session during the drain delay: %v", m)
	}
	select {
	case err := <-done:
		t.Fatalf("the server stopped within the drain delay: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop after the delay")
	}
}
