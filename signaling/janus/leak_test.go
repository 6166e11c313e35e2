package janus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// janusGoroutines lists the goroutines, other than the caller, that run
// or were started by the package's own (non-test) code.
func janusGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var found []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 {
			continue // the caller
		}
		for _, line := range strings.Split(g, "\n") {
			line = strings.TrimSpace(line)
			if strings.Contains(line, "/signaling/janus/") && strings.Contains(line, ".go:") && !strings.Contains(line, "_test.go:") {
				found = append(found, g)
				break
			}
		}
	}
	return found
}

// settledJanusGoroutines waits up to d for the package's goroutines to
// end (one that has just signalled its owner may still be returning) and
// returns those left.
func settledJanusGoroutines(d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		left := janusGoroutines()
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// slowDetachPlugin's handles take a while to detach and count it.
type slowDetachPlugin struct {
	echoPlugin
	detached atomic.Int32
}

func (p *slowDetachPlugin) Package() string { return "test.slowdetach" }
func (p *slowDetachPlugin) Attach(h HandleContext) (PluginSession, error) {
	return slowDetachSession{p: p}, nil
}

type slowDetachSession struct {
	echoSession
	p *slowDetachPlugin
}

func (s slowDetachSession) Detach(context.Context) {
	time.Sleep(50 * time.Millisecond)
	s.p.detached.Add(1)
}

// Close returns only once every plugin's Detach has run and every
// goroutine the gateway, its plugins and its transports started has
// ended: handles' goroutines, room event forwarders, WebSocket writers,
// the reaper. Long polls in flight return at once.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	if left := settledJanusGoroutines(time.Second); len(left) != 0 {
		t.Fatalf("goroutines of the package before the test:\n%s", strings.Join(left, "\n\n"))
	}
	s := newServer(t, Options{})
	s.gw.Register(NewVideoMCU(s.rooms, s.webrtc, quietLog(), nil))
	slow := &slowDetachPlugin{}
	s.gw.Register(slow)

	// A participant with media over WebSocket (its forwarder runs), a
	// video participant, and an idle socket.
	joinPlugin(t, s, audioBridgePkg, M{"room": 1234, "display": "ws"}, testpeer.Options{ToneHz: 440})
	joinPlugin(t, s, videoMCUPkg, M{"room": 1234, "display": "video"}, testpeer.Options{ToneHz: 660})
	idle := dialWS(t, s)
	idle.send(M{"janus": "create", "transaction": "c"})
	idle.tx("c")
	// An HTTP session in the room, with handles on the slow plugin and a
	// long poll waiting.
	sid := num(s.post(t, "/janus", `{"janus":"create","transaction":"c"}`), "data", "id")
	sp := fmt.Sprintf("/janus/%d", sid)
	hid := num(s.post(t, sp, `{"janus":"attach","plugin":"janus.plugin.audiobridge","transaction":"a"}`), "data", "id")
	s.post(t, fmt.Sprintf("%s/%d", sp, hid), `{"janus":"message","transaction":"j","body":{"request":"join","room":1234}}`)
	if d := pluginData(s.poll(t, sid)); d["audiobridge"] != "joined" {
		t.Fatalf("join over HTTP: %v", d)
	}
	for i := range 3 {
		s.post(t, sp, fmt.Sprintf(`{"janus":"attach","plugin":"test.slowdetach","transaction":"s%d"}`, i))
	}
	polled := make(chan error, 1)
	go func() {
		resp, err := http.Get(s.http.URL + sp + "?maxev=1")
		if err == nil {
			var m M
			err = json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
		}
		polled <- err
	}()
	time.Sleep(100 * time.Millisecond) // the poll is waiting
	if len(janusGoroutines()) == 0 {
		t.Fatal("no goroutines of the package while serving")
	}

	s.gw.Close()
	if n := slow.detached.Load(); n != 3 {
		t.Errorf("Close returned after %d of 3 Detach calls", n)
	}
	select {
	case err := <-polled:
		if err != nil {
			t.Errorf("long poll: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("a long poll outlived Close")
	}
	if left := settledJanusGoroutines(time.Second); len(left) != 0 {
		t.Fatalf("%d goroutines of the package outlived Close:\n%s", len(left), strings.Join(left, "\n\n"))
	}
}
