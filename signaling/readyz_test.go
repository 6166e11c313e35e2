package signaling

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// /readyz answers 200 while Ready says so and 503 with the reason when it
// does not; /healthz stays 200 (liveness) either way.
func TestReadyz(t *testing.T) {
	var reason atomic.Pointer[error]
	srv := httptest.NewServer(NewRouter(ServerOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Ready: func() error {
			if e := reason.Load(); e != nil {
				return *e
			}
			return nil
		}}))
	defer srv.Close()
	get := func(path string) (int, map[string]any) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if code, body := get("/readyz"); code != http.StatusOK || body["status"] != "ready" {
		t.Fatalf("ready server: %d %v", code, body)
	}
	stalled := errors.New("worker 1 has not ticked for 1.2s")
	reason.Store(&stalled)
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || body["reason"] != stalled.Error() {
		t.Fatalf("stalled server: %d %v", code, body)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Fatalf("healthz of a live but unready server: %d", code)
	}
}
