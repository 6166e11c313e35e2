package janus

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/tessera-mcu/tessera/signaling/internal/httpjson"
)

// DefaultMaxBody is the default bound of one HTTP request body.
const DefaultMaxBody = 1 << 20

// httpTransport serves the Janus REST API. It binds no sink: the events
// of its sessions wait in their queues for long polls.
type httpTransport struct {
	core    core
	base    string
	maxBody int64
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
	return &httpTransport{core: g, base: strings.TrimRight(base, "/"), maxBody: g.opts.MaxBody}
}

func (t *httpTransport) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cors(w, r)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusOK)
		return
	}
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, t.base), "/")
	var parts []string
	if rest != "" {
		parts = strings.Split(rest, "/")
	}
	if len(parts) > 2 {
		http.NotFound(w, r)
		return
	}
	if r.Method == http.MethodGet {
		t.get(w, r, parts)
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
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, t.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, errReply(0, "", errorf(CodeInvalidJSON, "JSON error: request body larger than %d bytes", t.maxBody)))
			return
		}
		writeJSON(w, errReply(0, "", errorf(CodeInvalidJSON, "JSON error: request body unreadable: %v", err)))
		return
	}
	rep := t.core.process(withClient(r.Context(), r.RemoteAddr), body, route{session: ids[0], handle: ids[1]}, nil)
	writeJSON(w, rep.msg)
}

func (t *httpTransport) get(w http.ResponseWriter, r *http.Request, parts []string) {
	switch {
	case len(parts) == 1 && parts[0] == "info":
		writeJSON(w, t.core.info(""))
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
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	maxev := 1
	if v := r.URL.Query().Get("maxev"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			maxev = n
		}
	}
	if !t.core.pollAllowed(r.URL.Query()) {
		w.WriteHeader(http.StatusForbidden) // as Janus: no body
		return
	}
	// A session that lives on a WebSocket is not known here (as in
	// Janus): its events go to the socket. A claim over HTTP moves it.
	events, err := t.core.poll(r.Context(), id, maxev)
	if errors.Is(err, errTooManyPolls) {
		httpjson.Write(w, http.StatusTooManyRequests, errReply(id, "", errorf(CodeTransportSpecific,
			"Too many long polls waiting on session %d; poll again when one returns", id)))
		return
	}
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
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
