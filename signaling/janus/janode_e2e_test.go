package janus

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/internal/e2etool"
	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/rtc"
)

// e2eDir holds the npm project with the unmodified Janus clients.
var e2eDir = filepath.Join("..", "..", "scripts", "e2e")

// needNode returns the node binary, skipping the test when the npm
// packages are not installed (scripts/test.sh installs them and sets
// TESSERA_E2E=1, which turns a missing install into a failure).
func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	for _, pkg := range []string{"janode", "werift", "janus-gateway", "webrtc-adapter", "playwright-core"} {
		if err == nil {
			_, err = os.Stat(filepath.Join(e2eDir, "node_modules", pkg))
		}
	}
	if err != nil {
		if os.Getenv("TESSERA_E2E") == "1" {
			t.Fatalf("end-to-end clients missing (run scripts/test.sh): %v", err)
		}
		t.Skipf("node or the e2e npm packages are missing (%v); scripts/test.sh installs them", err)
	}
	return node
}

// joinGoPeer puts a pion peer sending freq into a room through the room
// API.
func joinGoPeer(t *testing.T, e *rtc.Engine, r *room.Room, freq float64) *testpeer.Peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	me, _, err := r.Join(ctx, room.JoinRequest{Display: "go-peer"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := testpeer.New(testpeer.Options{ToneHz: freq})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	offer, err := p.Offer()
	if err != nil {
		t.Fatal(err)
	}
	ans, err := e.Offer(ctx, r.Member(me.ID), offer)
	answer := ans.SDP
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Accept(answer); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitConnected(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestJanodeAudioBridge runs the unmodified npm janode client, with werift
// as its WebRTC stack, through a whole AudioBridge session against the
// gateway, next to a pion participant. Audio is checked both ways by
// decoding it: janode's 440 Hz reaches the pion peer and the pion peer's
// 660 Hz comes back to janode, without janode's own voice.
func TestJanodeAudioBridge(t *testing.T) {
	runJanodeAudioBridge(t, Options{}, nil)
}

// e2eAuth is a server's API secret and a stored token allowed the
// AudioBridge, and the environment that hands them to the npm clients.
var (
	e2eAuth    = Options{APISecret: "e2e-secret", TokenAuth: true, Tokens: []string{"e2e-token"}}
	e2eAuthEnv = []string{"JANUS_APISECRET=e2e-secret", "JANUS_TOKEN=e2e-token"}
)

// TestJanodeAudioBridgeWithSecretAndToken is the janode session against a
// server that wants an API secret or a token, janode given both in its
// connection's address; without them its session is refused (403).
func TestJanodeAudioBridgeWithSecretAndToken(t *testing.T) {
	s := runJanodeAudioBridge(t, e2eAuth, e2eAuthEnv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.opus")
	e2etool.WriteTonePackets(t, in, 440, 10)
	cmd := exec.CommandContext(ctx, needNode(t), "janode-audiobridge.mjs", "ws"+strings.TrimPrefix(s.http.URL, "http")+"/janus", "1234", in, filepath.Join(dir, "out.opus"), "1")
	cmd.Dir = e2eDir
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), unauthorizedReason) {
		t.Fatalf("janode without credentials: %v\n%s", err, out)
	}
}

// runJanodeAudioBridge runs the janode session against a server with
// opts, janode's environment extended by env.
func runJanodeAudioBridge(t *testing.T, opts Options, env []string) *server {
	node := needNode(t)
	s := newServer(t, opts)
	r, _ := s.rooms.Get(1234)
	goPeer := joinGoPeer(t, s.webrtc, r, 660)

	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.opus"), filepath.Join(dir, "out.opus")
	e2etool.WriteTonePackets(t, in, 440, 100)
	wsURL := "ws" + strings.TrimPrefix(s.http.URL, "http") + "/janus"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "janode-audiobridge.mjs", wsURL, "1234", in, out, "4")
	cmd.Dir = e2eDir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// While janode talks, the pion peer must hear it.
	heard := make(chan float64, 1)
	go func() {
		time.Sleep(3 * time.Second) // joined, connected and talking by then
		var best float64
		for range 20 {
			best = max(best, goPeer.Level(440, 500*time.Millisecond))
			time.Sleep(100 * time.Millisecond)
		}
		heard <- best
	}()
	if err := cmd.Run(); err != nil {
		t.Fatalf("janode session failed: %v\n%s", err, stderr.String())
	}
	var sum struct {
		Steps    []string `json:"steps"`
		Sent     int      `json:"sent"`
		Received int      `json:"received"`
		Events   []string `json:"events"`
		Webrtcup bool     `json:"webrtcup"`
		Feed     uint64   `json:"feed"`
	}
	// janode logs to stdout too; the summary is the last line.
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("summary %q: %v\n%s", stdout.String(), err, stderr.String())
	}
	t.Logf("janode: steps %v, sent %d, received %d, events %v", sum.Steps, sum.Sent, sum.Received, sum.Events)
	want := []string{"connected", "created", "attached", "joined", "configured", "ice-dtls-up", "left", "detached", "destroyed", "closed"}
	if strings.Join(sum.Steps, ",") != strings.Join(want, ",") {
		t.Errorf("steps %v, want %v", sum.Steps, want)
	}
	if !sum.Webrtcup || sum.Feed == 0 {
		t.Errorf("webrtcup %v, feed %d", sum.Webrtcup, sum.Feed)
	}
	if sum.Received < 150 {
		t.Errorf("janode received %d packets in 4 s", sum.Received)
	}
	pcm := e2etool.DecodePackets(t, out)
	if len(pcm) > 48000 {
		pcm = pcm[len(pcm)-48000:]
	}
	if lvl := codectest.Goertzel(pcm, 48000, 660); lvl < 0.15 {
		t.Errorf("janode hears the pion peer at %.3f", lvl)
	}
	if lvl := codectest.Goertzel(pcm, 48000, 440); lvl > 0.01 {
		t.Errorf("janode hears its own voice at %.3f", lvl)
	}
	if lvl := <-heard; lvl < 0.15 {
		t.Errorf("the pion peer hears janode at %.3f", lvl)
	}
	if ps, _ := r.Participants(context.Background()); len(ps) != 1 {
		t.Errorf("%d participants after janode left, want 1", len(ps))
	}
	return s
}
