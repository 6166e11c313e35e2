package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/signaling/events"
	"github.com/tessera-mcu/tessera/signaling/events/eventstest"
)

// The event settings are flags, TESSERA_* variables and YAML keys, and
// are checked.
func TestConfigEvents(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tessera.yaml")
	yml := "event_url: http://127.0.0.1:9000/a, http://127.0.0.1:9001/b\nevent_secret: k\nevent_types: sessions,plugins\nevent_queue: 10\nevent_batch: 5\n"
	if err := os.WriteFile(file, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig([]string{"-config", file}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := eventConfig{EventURL: "http://127.0.0.1:9000/a, http://127.0.0.1:9001/b", EventSecret: "k", EventTypes: "sessions,plugins",
		EventQueue: 10, EventBatch: 5}
	if cfg.Events != want || len(cfg.Events.backends()) != 2 {
		t.Fatalf("yaml: %+v", cfg.Events)
	}
	cfg, err = loadConfig([]string{"-config", file, "-event-types", "all"}, env(map[string]string{"TESSERA_EVENT_SECRET": "e"}), io.Discard)
	if err != nil || cfg.Events.EventSecret != "e" || cfg.Events.EventTypes != "all" {
		t.Fatalf("env and flags: %+v %v", cfg.Events, err)
	}
	for _, bad := range [][]string{
		{"-event-url", "ftp://127.0.0.1/x"}, {"-event-types", "sessions,everything"},
		{"-event-queue", "0"}, {"-event-batch", "0"},
	} {
		if _, err := loadConfig(bad, env(nil), io.Discard); !errors.Is(err, errConfig) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// The server sends its events to the configured backend: the demo
// room's creation and a Janus session's, signed.
func TestRunSendsEvents(t *testing.T) {
	secret := []byte("run-secret")
	rcv := eventstest.New(t, secret)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	metricsAddr := freeAddr(t)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-media-port", "0", "-media-bind", "127.0.0.1", "-ws-listen", "", "-sip-listen", "",
			"-log-level", "error", "-event-url", rcv.URL, "-event-secret", string(secret), "-metrics-listen", metricsAddr}, env(nil), io.Discard, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	resp, err := http.Post("http://"+addr+"/janus", "application/json", strings.NewReader(`{"janus":"create","transaction":"c"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	rcv.Wait(t, "room and session created", func(evs []eventstest.Event) bool {
		var roomCreated bool
		for _, e := range evs {
			name, data := e.Plugin()
			roomCreated = roomCreated || (name == events.RoomPlugin && data["event"] == "created" && data["room"] == 1234.0)
			if roomCreated && e.Type == events.TypeSession && e.Event["name"] == "created" {
				return true
			}
		}
		return false
	})
	// The deliveries are counted in the metrics.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if m := regexp.MustCompile(`(?m)^tessera_events_total\{outcome="sent"\} (\d+)`).FindSubmatch(body); m != nil && string(m[1]) != "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sent events counted in the metrics:\n%s", regexp.MustCompile(`(?m)^tessera_events.*$`).FindAll(body, -1))
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The drain's events (the session destroyed) were flushed before run
	// returned.
	var destroyed bool
	for _, e := range rcv.Events() {
		destroyed = destroyed || (e.Type == events.TypeSession && e.Event["name"] == "destroyed")
	}
	if !destroyed || rcv.Bad() != 0 {
		t.Fatalf("after the drain: session destroyed %v, badly signed POSTs %d", destroyed, rcv.Bad())
	}
}
