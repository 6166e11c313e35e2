package hls

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// startServer serves a Handler over src on a loopback HTTP server.
func startServer(t *testing.T, src Source, opts ...Option) (*Handler, *httptest.Server) {
	t.Helper()
	h, err := NewHandler(src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	})
	return h, srv
}

type response struct {
	code int
	hdr  http.Header
	body string
}

func get(t *testing.T, url string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, string(b)}
}

func videoOnlySource(t *testing.T) *testSource {
	return newTestSource(t, feeder{w: 320, h: 180, fps: 30, realTime: true}, Config{})
}

// TestAuthorize checks that the Authorize option guards the playlist and
// the media alike, that refused requests start nothing, and that a token
// in the playlist's query reaches every URI it lists.
func TestAuthorize(t *testing.T) {
	src := videoOnlySource(t)
	auth := func(r *http.Request, room string) error {
		tok := r.URL.Query().Get("token")
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			tok = b
		}
		switch tok {
		case "":
			return fmt.Errorf("%w: pass the room's viewer token", ErrUnauthorized)
		case "viewer-" + room:
			return nil
		}
		return fmt.Errorf("%w: wrong viewer token for room %s", ErrForbidden, room)
	}
	_, srv := startServer(t, src, WithAuthorize(auth))
	base := srv.URL + "/hls/1/"

	r := get(t, base+"index.m3u8")
	if r.code != http.StatusUnauthorized || !strings.Contains(r.body, "viewer token") || r.hdr.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d %q %v, want 401 with a body and WWW-Authenticate", r.code, r.body, r.hdr)
	}
	if r.hdr.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("401 without CORS headers: a player on another origin cannot read it")
	}
	r = get(t, base+"index.m3u8?token=viewer-2")
	if r.code != http.StatusForbidden || !strings.Contains(r.body, "wrong viewer token") {
		t.Errorf("other room's token: %d %q, want 403", r.code, r.body)
	}
	if starts, _ := src.counts(); starts != 0 {
		t.Fatalf("refused requests started %d streams", starts)
	}

	r = get(t, base+"index.m3u8?token=viewer-1")
	if r.code != http.StatusOK {
		t.Fatalf("right token: %d %q", r.code, r.body)
	}
	p := parsePlaylist(t, []byte(r.body))
	if !strings.HasSuffix(p.mapURI, "?token=viewer-1") || len(p.segments) == 0 || !strings.HasSuffix(p.segments[0], "?token=viewer-1") {
		t.Fatalf("the token is not carried to the media URIs:\n%s", r.body)
	}
	for _, uri := range []string{p.mapURI, p.segments[0], p.partURIs[0]} {
		if r := get(t, base+uri); r.code != http.StatusOK || r.hdr.Get("Content-Type") != MediaType {
			t.Errorf("%s: %d %s", uri, r.code, r.hdr.Get("Content-Type"))
		}
		bare, _, _ := strings.Cut(uri, "?")
		if r := get(t, base+bare); r.code != http.StatusUnauthorized {
			t.Errorf("%s without token: %d, want 401", bare, r.code)
		}
		if r := get(t, base+bare, "Authorization", "Bearer viewer-1"); r.code != http.StatusOK {
			t.Errorf("%s with a bearer token: %d %q", bare, r.code, r.body)
		}
	}
}

// TestIdleStopAndRestart checks that a room's stream starts with the
// first playlist request, runs while players fetch, stops once nothing
// was fetched for the idle timeout, and starts again (as a new run) on
// the next playlist request.
func TestIdleStopAndRestart(t *testing.T) {
	src := videoOnlySource(t)
	const idle = time.Second
	h, srv := startServer(t, src, WithIdleTimeout(idle))
	url := srv.URL + "/hls/1/index.m3u8"

	r := get(t, url)
	if r.code != http.StatusOK {
		t.Fatalf("first playlist: %d %q", r.code, r.body)
	}
	first := parsePlaylist(t, []byte(r.body))
	if len(first.segments) == 0 {
		t.Fatalf("the first playlist has no segment:\n%s", r.body)
	}
	if got := h.Running(); len(got) != 1 || got[0] != "1" {
		t.Fatalf("running %v, want [1]", got)
	}
	// A player fetching parts keeps it running well past the timeout.
	for end := time.Now().Add(3 * idle); time.Now().Before(end); time.Sleep(idle / 4) {
		p := parsePlaylist(t, []byte(get(t, url).body))
		if r := get(t, srv.URL+"/hls/1/"+p.partURIs[len(p.partURIs)-1]); r.code != http.StatusOK {
			t.Fatalf("part: %d %q", r.code, r.body)
		}
	}
	if starts, stops := src.counts(); starts != 1 || stops != 0 {
		t.Fatalf("while watched: %d starts, %d stops; want 1, 0", starts, stops)
	}
	// Nobody fetches: it stops within the timeout and a reaper period.
	deadline := time.Now().Add(idle + 3*time.Second)
	for {
		if _, stops := src.counts(); stops == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not stopped %v after the last request", idle+3*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := h.Running(); len(got) != 0 {
		t.Errorf("running %v after the idle stop", got)
	}
	if r := get(t, srv.URL+"/hls/1/"+first.segments[0]); r.code != http.StatusNotFound || !strings.Contains(r.body, "index.m3u8") {
		t.Errorf("segment of a stopped stream: %d %q, want 404 pointing at the playlist", r.code, r.body)
	}

	r = get(t, url)
	if r.code != http.StatusOK {
		t.Fatalf("playlist after the stop: %d %q", r.code, r.body)
	}
	again := parsePlaylist(t, []byte(r.body))
	if again.mapURI == first.mapURI {
		t.Errorf("the restarted stream reuses the name %s: caches would mix the runs", again.mapURI)
	}
	if starts, _ := src.counts(); starts != 2 {
		t.Errorf("%d starts, want 2", starts)
	}
	if st := h.Stats(); st.Starts != 2 || st.Stops != 1 {
		t.Errorf("handler stats %+v", st)
	}
}

// TestRequestErrors checks the answers to what the handler cannot serve,
// and CORS preflight.
func TestRequestErrors(t *testing.T) {
	src := videoOnlySource(t)
	_, srv := startServer(t, src, WithPrefix("/live"))

	cases := []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/live/9/index.m3u8", 404, "room 9 has no HLS stream"},
		{"GET", "/live/1/x-1.m4s", 404, "load index.m3u8 first"},
		{"GET", "/live/1", 404, "/live/{room}/index.m3u8"},
		{"GET", "/hls/1/index.m3u8", 404, "/live/{room}/index.m3u8"},
		{"POST", "/live/1/index.m3u8", 405, "method not allowed"},
		{"GET", "/live/1/index.m3u8?_HLS_msn=x", 400, "bad directive"},
		{"GET", "/live/1/index.m3u8?_HLS_part=1", 400, "_HLS_part needs _HLS_msn"},
		{"GET", "/live/1/index.m3u8?_HLS_msn=99", 400, "too far ahead"},
		{"GET", "/live/1/index.m3u8", 200, "#EXTM3U"},
		{"GET", "/live/1/x-1.m4s", 404, "room 1 has no x-1.m4s"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.code || !strings.Contains(string(b), c.body) {
			t.Errorf("%s %s: %d %q, want %d with %q", c.method, c.path, res.StatusCode, b, c.code, c.body)
		}
		if c.code == 200 && (res.Header.Get("Content-Type") != PlaylistType || res.Header.Get("Cache-Control") != "no-cache") {
			t.Errorf("playlist headers %v", res.Header)
		}
	}

	req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/live/1/index.m3u8", nil)
	req.Header.Set("Origin", "http://player.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "authorization")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", res.StatusCode, res.Header)
	}
}

// TestStartFailure checks that a Source error is reported and not kept:
// the next request tries again.
func TestStartFailure(t *testing.T) {
	fails := &failingSource{err: errors.New("encoder busy")}
	_, srv := startServer(t, fails)
	for range 2 {
		r := get(t, srv.URL+"/hls/1/index.m3u8")
		if r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "encoder busy") || r.hdr.Get("Retry-After") == "" {
			t.Errorf("failed start: %d %q %v", r.code, r.body, r.hdr)
		}
	}
	if fails.starts != 2 {
		t.Errorf("%d starts, want a new try per request", fails.starts)
	}
}

type failingSource struct {
	err    error
	starts int
}

func (s *failingSource) Start(string) (*Muxer, error) { s.starts++; return nil, s.err }
func (s *failingSource) Stop(string)                  {}
