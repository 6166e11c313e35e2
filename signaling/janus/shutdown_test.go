package janus

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// On shutdown, as in Janus: a handle with a PeerConnection gets hangup,
// then detached; one without gets only detached; nothing follows a
// handle's detached. Close returns once every handle is gone (its
// participant out of the room), and then closes the WebSocket.
func TestCloseSendsHangupThenDetached(t *testing.T) {
	s := newServer(t, Options{})
	m, _ := joinPlugin(t, s, audioBridgePkg, M{"room": 1234, "display": "caller"}, testpeer.Options{ToneHz: 440})
	// A second handle on the same session, without a PeerConnection.
	m.c.send(M{"janus": "attach", "session_id": m.sid, "plugin": audioBridgePkg, "transaction": "a2"})
	bare := num(m.c.tx("a2"), "data", "id")

	s.gw.Close()
	r, _ := s.rooms.Get(1234)
	if ps, err := r.Participants(context.Background()); err != nil || len(ps) != 0 {
		t.Fatalf("after Close the room still has %d participants (%v)", len(ps), err)
	}

	// Everything the client receives for the two handles, in order, until
	// the server closes the socket.
	var got []M
	deadline := time.After(10 * time.Second)
	for open := true; open; {
		select {
		case e, ok := <-m.c.msgs:
			if !ok {
				open = false
			} else if h := num(e, "sender"); h == m.hid || h == bare {
				got = append(got, e)
			}
		case <-deadline:
			t.Fatalf("socket still open; got %v", got)
		}
	}
	kinds := map[uint64][]string{}
	for _, e := range got {
		h := num(e, "sender")
		kinds[h] = append(kinds[h], e["janus"].(string))
	}
	if k := kinds[m.hid]; len(k) != 2 || k[0] != "hangup" || k[1] != "detached" {
		t.Errorf("handle with a PeerConnection got %v, want [hangup detached]", k)
	}
	for _, e := range got {
		if num(e, "sender") == m.hid && e["janus"] == "hangup" && e["reason"] != "Detach" {
			t.Errorf("hangup reason %v, want Detach", e["reason"])
		}
	}
	if k := kinds[bare]; len(k) != 1 || k[0] != "detached" {
		t.Errorf("handle without a PeerConnection got %v, want [detached]", k)
	}
}

// echoPlugin is a plugin whose handles the test drives directly.
type echoPlugin struct {
	mu      sync.Mutex
	handles []HandleContext
}

func (p *echoPlugin) Package() string  { return "test.echo" }
func (p *echoPlugin) Info() PluginInfo { return PluginInfo{Name: "echo"} }
func (p *echoPlugin) Attach(h HandleContext) (PluginSession, error) {
	p.mu.Lock()
	p.handles = append(p.handles, h)
	p.mu.Unlock()
	return echoSession{}, nil
}

type echoSession struct{}

func (echoSession) Async(json.RawMessage) bool { return false }
func (echoSession) Handle(context.Context, json.RawMessage, *JSEP) (any, *JSEP) {
	return M{"echo": "ok"}, nil
}
func (echoSession) Trickle(context.Context, []Candidate) error { return nil }
func (echoSession) Hangup(context.Context)                     {}
func (echoSession) Detach(context.Context)                     {}

// A plugin that still reports on a handle after it was detached (its
// event source lagging behind) reaches no client: detached is the last
// word about a handle.
func TestNothingFollowsDetached(t *testing.T) {
	s := newServer(t, Options{})
	p := &echoPlugin{}
	s.gw.Register(p)
	c := dialWS(t, s)
	c.send(M{"janus": "create", "transaction": "c"})
	sid := num(c.tx("c"), "data", "id")
	c.send(M{"janus": "attach", "session_id": sid, "plugin": p.Package(), "transaction": "a"})
	hid := num(c.tx("a"), "data", "id")
	c.send(M{"janus": "detach", "session_id": sid, "handle_id": hid, "transaction": "d"})
	c.wait("detached", func(e M) bool { return e["janus"] == "detached" && num(e, "sender") == hid })

	h := p.handles[0]
	h.Event(M{"echo": "late"}, nil)
	h.WebRTCUp()
	h.Media("0", "audio", false)
	h.SlowLink("0", "audio", true, 10)
	h.HangupEvent("late")
	c.send(M{"janus": "keepalive", "session_id": sid, "transaction": "k"})
	for {
		select {
		case e := <-c.msgs:
			switch e["transaction"] {
			case "d":
				continue // detach's reply may come after detached
			case "k":
				return // everything sent before the ack has arrived
			}
			t.Fatalf("after detached: %v", e)
		case <-time.After(5 * time.Second):
			t.Fatal("no ack")
		}
	}
}

// panicPlugin's requests panic when their body says "boom".
type panicPlugin struct{ echoPlugin }

func (p *panicPlugin) Package() string { return "test.panic" }
func (p *panicPlugin) Attach(h HandleContext) (PluginSession, error) {
	return panicSession{h: h}, nil
}

type panicSession struct {
	echoSession
	h HandleContext
}

func (panicSession) Async(json.RawMessage) bool { return true }
func (s panicSession) Handle(_ context.Context, body json.RawMessage, _ *JSEP) (any, *JSEP) {
	if strings.Contains(string(body), "boom") {
		var m map[string]int
		m["x"] = 1 // a plugin bug
	}
	s.h.Event(M{"echo": "ok"}, nil)
	return nil, nil
}

// A panic in a plugin's request costs that request's answer only: the
// process, the handle and the other sessions go on.
func TestPluginPanicIsContained(t *testing.T) {
	s := newServer(t, Options{})
	p := &panicPlugin{}
	s.gw.Register(p)
	before := Panics()
	c := dialWS(t, s)
	c.send(M{"janus": "create", "transaction": "c"})
	sid := num(c.tx("c"), "data", "id")
	c.send(M{"janus": "attach", "session_id": sid, "plugin": p.Package(), "transaction": "a"})
	hid := num(c.tx("a"), "data", "id")
	c.send(M{"janus": "message", "session_id": sid, "handle_id": hid, "transaction": "boom", "body": M{"request": "boom"}})
	c.wait("ack of boom", func(e M) bool { return e["janus"] == "ack" && e["transaction"] == "boom" })
	c.send(M{"janus": "message", "session_id": sid, "handle_id": hid, "transaction": "after", "body": M{"request": "fine"}})
	c.wait("event after the panic", func(e M) bool { return e["janus"] == "event" && e["transaction"] == "after" })
	if Panics() != before+1 {
		t.Errorf("panics %d, want %d", Panics(), before+1)
	}
	other := dialWS(t, s)
	other.send(M{"janus": "create", "transaction": "c2"})
	if other.tx("c2")["janus"] != "success" {
		t.Error("a new session after the panic failed")
	}
}
