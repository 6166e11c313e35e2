package janus

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tessera-mcu/tessera/signaling/internal/httpjson"
)

// DefaultMaxBody is the default bound of one HTTP request body.
const DefaultMaxBody = 1 << 20

// pollQueueLen bounds the events waiting for a long poll; beyond it the
// oldest are dropped.
const pollQueueLen = 1024

// pollQueue holds a session's events while it is bound to HTTP.
type pollQueue struct {
	mu      sync.Mutex
	events  []M
	wake    chan struct{}
	closed  bool
	dropped uint64
}

func newPollQueue() *pollQueue { return &pollQueue{wake: make(chan struct{}, 1)} }

func (q *pollQueue) deliver(m M) {
	q.mu.Lock()
	if len(q.events) >= pollQueueLen {
		q.events = q.events[1:]
		q.dropped++
	}
	q.events = append(q.events, m)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *pollQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take waits up to d for events and returns at most max of them.
func (q *pollQueue) take(ctx context.Context, max int, d time.Duration) []M {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		q.mu.Lock()
		if n := min(max, len(q.events)); n > 0 {
			out := append([]M(nil), q.events[:n]...)
			q.events = append(q.events[:0], q.events[n:]...)
			q.mu.Unlock()
			return out
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return nil
		}
		select {
		case <-q.wake:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// HTTPHandler serves the Janus REST API under base (e.g. "/janus"):
//
//	POST base                   create (and info, ping)
//	POST base/{session}         attach, destroy, keepalive, claim
//	POST base/{session}/{handle} message, trickle, detach, hangup
//	GET  base/{session}?maxev=N long poll for events
//	GET  base/info, base/ping
//
// Replies are JSON with status 200, errors included, as Janus does. Bodies
// of any content type are accepted (janus.js sends destroy as a beacon).
func (g *Gateway) HTTPHandler(base string) http.Handler {
	base = strings.TrimRight(base, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cors(w, r)
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusOK)
			return
		}
		rest := strings.Trim(strings.TrimPrefix(r.URL.Path, base), "/")
		var parts []string
		if rest != "" {
			parts = strings.Split(rest, "/")
		}
		if len(parts) > 2 {
			http.NotFound(w, r)
			return
		}
		if r.Method == http.MethodGet {
			g.httpGet(w, r, parts)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST, OPTIONS")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		ids := make([]uint64, 2)
		for i, p := range parts {
			id, err := strconv.ParseUint(p, 10, 64)
			if err != nil || id == 0 {
				writeJSON(w, errReply(0, "", errorf(CodeInvalidRequestPath, "Invalid path %s", r.URL.Path)))
				return
			}
			ids[i] = id
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.opts.MaxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeJSON(w, errReply(0, "", errorf(CodeInvalidJSON, "JSON error: request body larger than %d bytes", g.opts.MaxBody)))
				return
			}
			writeJSON(w, errReply(0, "", errorf(CodeInvalidJSON, "JSON error: request body unreadable: %v", err)))
			return
		}
		reply := g.process(withClient(r.Context(), r.RemoteAddr), body, ids[0], ids[1], nil, func(s *Session) {
			s.mu.Lock()
			s.poll = newPollQueue()
			s.out = s.poll
			s.mu.Unlock()
		})
		if len(parts) >= 1 {
			g.bindHTTP(ids[0], reply)
		}
		writeJSON(w, reply)
	})
}

// bindHTTP gives a session that was claimed over HTTP a poll queue.
func (g *Gateway) bindHTTP(id uint64, reply M) {
	if reply["janus"] != "success" {
		return
	}
	s := g.session(id)
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.out == nil {
		if s.poll == nil {
			s.poll = newPollQueue()
		}
		s.out = s.poll
	}
	s.mu.Unlock()
}

func (g *Gateway) httpGet(w http.ResponseWriter, r *http.Request, parts []string) {
	switch {
	case len(parts) == 1 && parts[0] == "info":
		writeJSON(w, g.info(""))
		return
	case len(parts) == 1 && parts[0] == "ping":
		writeJSON(w, M{"janus": "pong"})
		return
	case len(parts) == 2:
		// GET on a handle redirects to its session, as Janus does.
		http.Redirect(w, r, strings.TrimSuffix(r.URL.Path, "/"+parts[1]), http.StatusFound)
		return
	case len(parts) != 1:
		http.NotFound(w, r)
		return
	}
	id, err := strconv.ParseUint(parts[0], 10, 64)
	s := g.session(id)
	if err != nil || s == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	s.mu.Lock()
	if s.out != nil && (s.poll == nil || s.out != sink(s.poll)) {
		// The session lives on a WebSocket: its events go there, and the
		// HTTP transport does not know it (as in Janus). A claim over
		// HTTP moves it.
		s.mu.Unlock()
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if s.poll == nil {
		s.poll = newPollQueue()
		s.out = s.poll
	}
	q := s.poll
	s.mu.Unlock()
	s.touch()
	maxev := 1
	if v := r.URL.Query().Get("maxev"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			maxev = n
		}
	}
	events := q.take(r.Context(), maxev, g.opts.PollTimeout)
	s.touch()
	if len(events) == 0 {
		events = []M{{"janus": "keepalive"}}
	}
	if maxev == 1 {
		writeJSON(w, events[0])
		return
	}
	writeJSON(w, events)
}

func cors(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Max-Age", "86400")
	if m := r.Header.Get("Access-Control-Request-Method"); m != "" {
		h.Set("Access-Control-Allow-Methods", m)
	}
	if hd := r.Header.Get("Access-Control-Request-Headers"); hd != "" {
		h.Set("Access-Control-Allow-Headers", hd)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	httpjson.Write(w, http.StatusOK, v)
}
