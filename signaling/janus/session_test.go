package janus

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// httpCall sends one request to an HTTP handler in process and decodes
// the JSON it answers.
func httpCall(t *testing.T, h http.Handler, method, path, body string, out any) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	if out != nil && rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: undecodable reply %q: %v", method, path, rec.Body.String(), err)
		}
	}
	return rec.Code
}

// Events published while a long-polled session is claimed over HTTP again
// and again all reach the long poll, in order: a claim never leaves the
// session without a place for its events.
func TestEventsSurviveHTTPClaims(t *testing.T) {
	gw := NewGateway(Options{Logger: quietLog(), PollTimeout: 100 * time.Millisecond})
	defer gw.Close()
	p := &echoPlugin{}
	gw.Register(p)
	api := gw.HTTPHandler("/janus")
	var created M
	httpCall(t, api, http.MethodPost, "/janus", `{"janus":"create","transaction":"c"}`, &created)
	sp := fmt.Sprintf("/janus/%d", num(created, "data", "id"))
	var attached M
	httpCall(t, api, http.MethodPost, sp, `{"janus":"attach","plugin":"test.echo","transaction":"a"}`, &attached)
	if num(attached, "data", "id") == 0 {
		t.Fatalf("attach: %v", attached)
	}
	h := p.handles[0]

	const events = 1000 // within the session's queue
	var wg sync.WaitGroup
	sent := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-sent:
				return
			default:
			}
			var claimed M
			httpCall(t, api, http.MethodPost, sp, `{"janus":"claim","transaction":"cl"}`, &claimed)
			if claimed["janus"] != "success" {
				t.Errorf("claim: %v", claimed)
				return
			}
		}
	}()
	for i := range events {
		h.Event(M{"n": i}, nil)
		if i%10 == 0 {
			time.Sleep(50 * time.Microsecond)
		}
	}
	close(sent)
	wg.Wait()

	next := 0
	for next < events {
		var batch []M
		if code := httpCall(t, api, http.MethodGet, sp+"?maxev=100", "", &batch); code != http.StatusOK {
			t.Fatalf("poll: HTTP %d", code)
		}
		if len(batch) == 1 && batch[0]["janus"] == "keepalive" {
			t.Fatalf("%d of %d events delivered; the rest were lost", next, events)
		}
		for _, e := range batch {
			if n := num(pluginData(e), "n"); int(n) != next {
				t.Fatalf("event %d arrived as number %d", n, next)
			}
			next++
		}
	}
}

// Events a session holds for a long poll that never came go, in order, to
// the WebSocket that claims the session.
func TestClaimingSocketGetsQueuedEvents(t *testing.T) {
	s := newServer(t, Options{})
	p := &echoPlugin{}
	s.gw.Register(p)
	sid := num(s.post(t, "/janus", `{"janus":"create","transaction":"c"}`), "data", "id")
	hid := num(s.post(t, fmt.Sprintf("/janus/%d", sid), `{"janus":"attach","plugin":"test.echo","transaction":"a"}`), "data", "id")
	h := p.handles[0]
	for i := range 3 {
		h.Event(M{"n": i}, nil)
	}
	c := dialWS(t, s)
	c.send(M{"janus": "claim", "session_id": sid, "transaction": "cl"})
	if got := c.tx("cl"); got["janus"] != "success" {
		t.Fatalf("claim: %v", got)
	}
	for i := range 3 {
		e := c.wait(fmt.Sprintf("event %d", i), func(e M) bool { return e["janus"] == "event" })
		if num(e, "sender") != hid || num(pluginData(e), "n") != uint64(i) {
			t.Fatalf("event %d: %v", i, e)
		}
	}
}
