package janus

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/mixer"
)

// needChromium returns Chromium's path, skipping like needNode.
func needChromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if os.Getenv("TESSERA_E2E") == "1" {
		t.Fatal("chromium missing (run scripts/test.sh)")
	}
	t.Skip("chromium missing; scripts/test.sh installs it")
	return ""
}

// TestJanusJSInChromium joins room 1234 from the unmodified janus.js in
// headless Chromium (fake microphone), over WebSocket and then over HTTP
// long-poll, next to a pion participant: both directions must carry audio.
func TestJanusJSInChromium(t *testing.T) {
	runJanusJSInChromium(t, Options{}, nil)
}

// TestJanusJSInChromiumWithSecretAndToken is the same against a server
// that wants an API secret or a token, janus.js given both (the apisecret
// and token options of new Janus): it sends them with every request, long
// polls included.
func TestJanusJSInChromiumWithSecretAndToken(t *testing.T) {
	runJanusJSInChromium(t, e2eAuth, e2eAuthEnv)
}

// runJanusJSInChromium runs the janus.js sessions against a server with
// opts, the runner's environment extended by env.
func runJanusJSInChromium(t *testing.T, opts Options, env []string) {
	node := needNode(t)
	chromium := needChromium(t)
	s := newServer(t, opts)
	r, _ := s.rooms.Get(1234)
	goPeer := joinGoPeer(t, s.webrtc, r, 660)

	// Serve the test page and the npm janus.js files next to the API.
	page := janusPage(t, s.http.Config.Handler, "janusjs.html")

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := page.URL
	cmd := exec.CommandContext(ctx, node, "janusjs-chromium.mjs", base+"/e2e/janusjs.html",
		"ws"+strings.TrimPrefix(base, "http")+"/janus", base+"/janus", "4")
	cmd.Dir = e2eDir
	cmd.Env = append(append(os.Environ(), "CHROMIUM="+chromium), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	mark := goPeer.Mark()
	if err := cmd.Run(); err != nil {
		t.Fatalf("janus.js run failed: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want two summaries, got %q\n%s", stdout.String(), stderr.String())
	}
	for _, line := range lines {
		var sum struct {
			Transport string   `json:"transport"`
			Steps     []string `json:"steps"`
			Errors    []string `json:"errors"`
			ID        uint64   `json:"id"`
			Left      bool     `json:"left"`
			Peak      float64  `json:"peak"`
			Stats     struct {
				Sent, Received int
				Energy         float64
			} `json:"stats"`
		}
		if err := json.Unmarshal([]byte(line), &sum); err != nil {
			t.Fatalf("summary %q: %v", line, err)
		}
		t.Logf("janus.js over %s: steps %v, sent %d, received %d, audio energy %.4f, peak %.3f, left %v",
			sum.Transport, sum.Steps, sum.Stats.Sent, sum.Stats.Received, sum.Stats.Energy, sum.Peak, sum.Left)
		for _, want := range []string{"session", "attached", "joined", "configured", "webrtcup", "remote-audio"} {
			if !strings.Contains(strings.Join(sum.Steps, ","), want) {
				t.Errorf("%s: step %q missing (errors %v)", sum.Transport, want, sum.Errors)
			}
		}
		if sum.Stats.Sent < 150 || sum.Stats.Received < 150 {
			t.Errorf("%s: sent %d, received %d packets in 4 s", sum.Transport, sum.Stats.Sent, sum.Stats.Received)
		}
		// The pion peer's 660 Hz tone at 0.25 of full scale.
		if sum.Peak < 0.1 || sum.Stats.Energy <= 0 {
			t.Errorf("%s: the browser played silence (peak %.3f, energy %.4f)", sum.Transport, sum.Peak, sum.Stats.Energy)
		}
		if !sum.Left {
			t.Errorf("%s: leave/detach/destroy did not complete", sum.Transport)
		}
	}
	// The pion peer heard the browsers' fake microphone.
	if lvl := mixer.LevelOfPCM(goPeer.Since(mark)); lvl > 60 {
		t.Errorf("pion peer heard the browsers at only -%d dBov", lvl)
	}
	if ps, _ := r.Participants(context.Background()); len(ps) != 1 {
		t.Errorf("%d participants after the browsers left, want 1", len(ps))
	}
}

// janusPage serves a test page of scripts/e2e with the npm janus.js and
// its adapter next to the Janus API (api), as a web application would.
func janusPage(t testing.TB, api http.Handler, html string) *httptest.Server {
	t.Helper()
	files := map[string]string{
		"/e2e/" + html:     filepath.Join(e2eDir, html),
		"/e2e/janus.es.js": filepath.Join(e2eDir, "node_modules", "janus-gateway", "npm", "dist", "janus.es.js"),
		"/e2e/adapter.js":  filepath.Join(e2eDir, "node_modules", "webrtc-adapter", "out", "adapter.js"),
	}
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if f, ok := files[req.URL.Path]; ok {
			http.ServeFile(w, req, f)
			return
		}
		api.ServeHTTP(w, req)
	}))
	t.Cleanup(page.Close)
	return page
}
