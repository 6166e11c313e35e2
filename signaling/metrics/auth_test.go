package metrics

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/signaling/lockout"
)

func get(t *testing.T, url, auth string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Header
}

// The metrics key: a scrape without it or with a wrong one is refused
// with 401 and a JSON error; the right one, in any case of the scheme
// name, gets the metrics.
func TestMetricsKey(t *testing.T) {
	m := New(Options{Version: "test", Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(m.Handler("s3cret"))
	defer srv.Close()

	for _, auth := range []string{"", "Bearer wrong", "Bearer s3cret2", "Basic s3cret", "s3cret", "Bearer "} {
		code, body, h := get(t, srv.URL, auth)
		var e struct{ Error string }
		if code != http.StatusUnauthorized || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, "metrics key") {
			t.Errorf("Authorization %q: %d %q", auth, code, body)
		}
		if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("Authorization %q: WWW-Authenticate %q", auth, h.Get("WWW-Authenticate"))
		}
		if strings.Contains(body, "tessera_") {
			t.Errorf("Authorization %q: metrics in a refusal", auth)
		}
	}
	for _, auth := range []string{"Bearer s3cret", "bearer s3cret"} {
		code, body, _ := get(t, srv.URL, auth)
		if code != http.StatusOK || !strings.Contains(body, `tessera_build_info{version="test"} 1`) {
			t.Errorf("Authorization %q: %d %.200q", auth, code, body)
		}
	}

	// Without a key, the metrics are open.
	open := httptest.NewServer(m.Handler(""))
	defer open.Close()
	if code, body, _ := get(t, open.URL, ""); code != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Errorf("no key: %d %.200q", code, body)
	}
}

// A client that keeps guessing the key is locked out: even the right key
// is refused until the lockout ends.
func TestMetricsKeyLockout(t *testing.T) {
	guesses := lockout.New(lockout.Options{MaxFailures: 3, Window: time.Minute, Lockout: time.Hour,
		Logger: slog.New(slog.DiscardHandler)})
	m := New(Options{Lockout: guesses, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(m.Handler("s3cret"))
	defer srv.Close()
	if code, _, _ := get(t, srv.URL, "Bearer s3cret"); code != http.StatusOK {
		t.Fatalf("right key: %d", code)
	}
	for range 3 {
		get(t, srv.URL, "Bearer guess")
	}
	code, body, _ := get(t, srv.URL, "Bearer s3cret")
	if code != http.StatusUnauthorized || !strings.Contains(body, "too many") {
		t.Fatalf("right key after too many guesses: %d %q", code, body)
	}
}
