// Package eventstest is an event handler backend for tests: an HTTP
// server on loopback that checks each batch's signature and keeps the
// events it received, in order.
package eventstest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/signaling/events"
)

// Event is a received event.
type Event struct {
	Emitter   string         `json:"emitter"`
	Type      events.Type    `json:"type"`
	Subtype   int            `json:"subtype"`
	Timestamp int64          `json:"timestamp"`
	SessionID uint64         `json:"session_id"`
	HandleID  uint64         `json:"handle_id"`
	OpaqueID  string         `json:"opaque_id"`
	Event     map[string]any `json:"event"`
}

// Plugin is the plugin name and data of a plugin event ("" and nil
// otherwise).
func (e Event) Plugin() (string, map[string]any) {
	if e.Type != events.TypePlugin {
		return "", nil
	}
	name, _ := e.Event["plugin"].(string)
	data, _ := e.Event["data"].(map[string]any)
	return name, data
}

// Receiver is a backend on loopback.
type Receiver struct {
	URL string

	secret []byte
	srv    *httptest.Server

	mu sync.Mutex
	// status, if set, answers the n-th POST (from 1) instead of 204.
	status  func(n int) int
	posts   int
	batches [][]Event
	// bad counts POSTs whose signature did not verify (with a
	// secret) or that could not be decoded.
	bad int
}

// New starts a receiver that checks signatures with secret (nil: none
// expected); t's cleanup stops it.
func New(t testing.TB, secret []byte) *Receiver {
	r := &Receiver{secret: secret}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL + "/events"
	t.Cleanup(r.srv.Close)
	return r
}

// Fail makes the receiver answer the n-th POST (from 1) with status(n)
// when that is not 0; such a batch is not kept.
func (r *Receiver) Fail(status func(n int) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = status
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posts++
	if r.status != nil {
		if c := r.status(r.posts); c != 0 {
			w.WriteHeader(c)
			return
		}
	}
	var batch []Event
	if err != nil || req.Method != http.MethodPost || json.Unmarshal(body, &batch) != nil ||
		(r.secret != nil && !events.Verify(r.secret, body, req.Header.Get(events.SignatureHeader))) {
		r.bad++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.batches = append(r.batches, batch)
	w.WriteHeader(http.StatusNoContent)
}

// Posts is how many POSTs arrived, answered or refused.
func (r *Receiver) Posts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.posts
}

// Bad is how many POSTs were badly signed or not a JSON array of events.
func (r *Receiver) Bad() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad
}

// Batches returns the batches kept, in the order they arrived.
func (r *Receiver) Batches() [][]Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]Event(nil), r.batches...)
}

// Events returns every event kept, in order.
func (r *Receiver) Events() []Event {
	var out []Event
	for _, b := range r.Batches() {
		out = append(out, b...)
	}
	return out
}

// Wait returns the events once done says they are complete, failing t
// after 10 s.
func (r *Receiver) Wait(t testing.TB, what string, done func([]Event) bool) []Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs := r.Events()
		if done(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; received %d events in %d POSTs (%d bad)", what, len(evs), r.Posts(), r.Bad())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
