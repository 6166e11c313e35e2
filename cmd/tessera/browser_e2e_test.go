package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// e2eDir holds the npm project with playwright-core and the unmodified
// Janus clients.
var e2eDir = filepath.Join("..", "..", "scripts", "e2e")

// needBrowser returns node and Chromium, skipping the test when they or
// the npm packages are missing; with TESSERA_E2E=1 (set by scripts/test.sh,
// which installs them) a missing piece is a failure instead.
func needBrowser(t *testing.T) (node, chromium string) {
	t.Helper()
	missing := func(what string, err error) {
		t.Helper()
		if os.Getenv("TESSERA_E2E") == "1" {
			t.Fatalf("%s missing (run scripts/test.sh): %v", what, err)
		}
		t.Skipf("%s missing (%v); scripts/test.sh installs it", what, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node", err)
	}
	for _, pkg := range []string{"playwright-core", "janus-gateway", "webrtc-adapter"} {
		if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", pkg)); err != nil {
			missing("npm package "+pkg, err)
		}
	}
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return node, p
		}
	}
	missing("chromium", os.ErrNotExist)
	return "", ""
}

// newAuxServer serves what the real server does not: janus.js and its
// adapter from npm next to scripts/e2e/janusjs.html (under /e2e/; janus.js
// then talks to the real server cross-origin), and a proxy to the real
// server whose WebSockets the test can cut (GET /test/cut-websockets), as a
// network failure would.
func newAuxServer(t *testing.T, target string) *httptest.Server {
	files := map[string]string{
		"/e2e/janusjs.html": filepath.Join(e2eDir, "janusjs.html"),
		"/e2e/janus.es.js":  filepath.Join(e2eDir, "node_modules", "janus-gateway", "npm", "dist", "janus.es.js"),
		"/e2e/adapter.js":   filepath.Join(e2eDir, "node_modules", "webrtc-adapter", "out", "adapter.js"),
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target})
	proxy.ErrorLog = log.New(io.Discard, "", 0) // cut connections are expected
	var (
		mu       sync.Mutex
		hijacked = map[net.Conn]bool{}
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, ok := files[r.URL.Path]; ok {
			http.ServeFile(w, r, f)
			return
		}
		if r.URL.Path == "/test/cut-websockets" {
			mu.Lock()
			n := len(hijacked)
			for c := range hijacked {
				_ = c.Close()
				delete(hijacked, c)
			}
			mu.Unlock()
			fmt.Fprintf(w, "%d\n", n)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	// A proxied WebSocket is a hijacked connection.
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateHijacked:
			hijacked[c] = true
		case http.StateClosed:
			delete(hijacked, c)
		}
	}
	srv.Start()
	return srv
}

// browserReport is what scripts/e2e/browser.mjs observed.
type browserReport struct {
	Seconds     float64          `json:"seconds"`
	Timings     map[string]int64 `json:"timings"`
	PageErrors  []string         `json:"pageErrors"`
	Failure     string           `json:"failure"`
	AtFailure   json.RawMessage  `json:"atFailure"`
	Screenshot  string           `json:"screenshot"`
	TalkingSeen bool             `json:"talkingSeen"`

	RoomNotFound     pageState `json:"roomNotFound"`
	WrongPin         pageState `json:"wrongPin"`
	PermissionDenied pageState `json:"permissionDenied"`
	Unreachable      pageState `json:"unreachable"`
	ConnectionLost   struct {
		pageState
		GoneOnAlice bool `json:"goneOnAlice"`
	} `json:"connectionLost"`

	Three      []flowState `json:"three"`
	TilesThree int         `json:"tilesThree"`

	RecordingAsked       bool   `json:"recordingAsked"`
	RecordingWrongSecret string `json:"recordingWrongSecret"`
	Recording            struct {
		Recording, RecIndicator, ButtonEnabled bool
		OtherSeesRec, Stopped                  bool
		Alert                                  string
	} `json:"recording"`

	Mute []struct {
		Name         string `json:"name"`
		BobMuted     *bool  `json:"bobMuted"`
		BadgeVisible bool   `json:"badgeVisible"`
	} `json:"mute"`
	MuteButton string `json:"muteButton"`
	Camera     struct {
		OffFrames  int    `json:"offFrames"`
		OffPackets int    `json:"offPackets"`
		OnAgain    bool   `json:"onAgain"`
		Button     string `json:"button"`
	} `json:"camera"`
	Cut int `json:"cut"`

	LayoutSpeakerOnBob bool `json:"layoutSpeakerOnBob"`
	LayoutGridOnBob    bool `json:"layoutGridOnBob"`
	PinnedBobOnCarol   bool `json:"pinnedBobOnCarol"`
	UnpinnedOnCarol    bool `json:"unpinnedOnCarol"`
	Share              struct {
		Started, BackToGrid, CarolSharing bool
		CarolID                           uint64 `json:"carolId"`
		Tiles                             []struct {
			Participant   uint64
			Width, Height int
			Large         bool
		}
	} `json:"share"`

	TilesBeforeLeave int `json:"tilesBeforeLeave"`
	Leave            struct {
		Carol     pageState `json:"carol"`
		Remaining []struct {
			Name         string        `json:"name"`
			Participants []participant `json:"participants"`
		} `json:"remaining"`
		TilesAfter int `json:"tilesAfter"`
	} `json:"leave"`

	Viewer struct {
		flowState
		Joined        string `json:"joined"`
		AliceSeesDave bool   `json:"aliceSeesDave"`
		OverflowX     int    `json:"overflowX"`
		Screenshot    string `json:"screenshot"`
	} `json:"viewer"`

	JanusJS struct {
		Clients []struct {
			Transport string   `json:"transport"`
			Steps     []string `json:"steps"`
			Errors    []string `json:"errors"`
		} `json:"clients"`
		AliceSees   []string `json:"aliceSees"`
		DaveSees    []string `json:"daveSees"`
		Left        []bool   `json:"left"`
		GoneOnAlice bool     `json:"goneOnAlice"`
	} `json:"janusjs"`

	Final              []pageState    `json:"final"`
	ServerParticipants *[]participant `json:"serverParticipants"`
}

type participant struct {
	ID      uint64 `json:"id"`
	Display string `json:"display"`
	Muted   bool   `json:"muted"`
	Talking bool   `json:"talking"`
	Self    bool   `json:"self"`
}

type pageState struct {
	Name         string        `json:"name"`
	State        string        `json:"state"`
	ID           uint64        `json:"id"`
	Transport    string        `json:"transport"`
	Layout       string        `json:"layout"`
	Participants []participant `json:"participants"`
	Errors       []struct {
		Message string `json:"message"`
		Kind    string `json:"kind"`
		Code    int    `json:"code"`
	} `json:"errors"`
	Alert       string `json:"alert"`
	FormVisible bool   `json:"formVisible"`
}

type flowState struct {
	pageState
	Frames [2]int `json:"frames"`
	Audio  [2]int `json:"audio"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Sent   int    `json:"sent"`
	// Tier is what the server said it sends the page.
	Tier *struct {
		Tier, Width, Height int
	} `json:"tier"`
}

func displays(ps []participant) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Display)
	}
	slices.Sort(out)
	return out
}

// TestBrowserClient runs the page the server embeds (web/static) in
// headless Chromium against the real server: three cameras, errors, mute,
// layouts, screen sharing, leaving, a viewer over long-poll on a phone
// screen, and janus.js participants in the same room.
func TestBrowserClient(t *testing.T) {
	node, chromium := needBrowser(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var logs strings.Builder
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-media-port", "0", "-media-bind", "127.0.0.1", "-ws-listen", "", "-sip-listen", "", "-log-format", "json"},
			env(map[string]string{"TESSERA_RECORD_DIR": t.TempDir()}), &syncWriter{b: &logs}, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("server did not stop")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	}()

	aux := newAuxServer(t, addr)
	defer aux.Close()

	artifacts, err := filepath.Abs(filepath.Join("..", "..", "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	nctx, ncancel := context.WithTimeout(ctx, 150*time.Second)
	defer ncancel()
	cmd := exec.CommandContext(nctx, node, "browser.mjs", "http://"+addr, aux.URL, artifacts)
	cmd.Dir = e2eDir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	t.Logf("browser script:\n%s", stderr.String())
	var rep browserReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("no report (%v; run: %v)\nstdout: %s", err, runErr, stdout.String())
	}
	t.Logf("browser run took %.1f s", rep.Seconds)
	if runErr != nil || rep.Failure != "" {
		t.Fatalf("browser script failed: %v\n%s\npages: %s", runErr, rep.Failure, rep.AtFailure)
	}
	for _, e := range rep.PageErrors {
		t.Errorf("uncaught page error: %s", e)
	}

	// Errors are explained in words, with the plugin's code kept for tools.
	checkError := func(what string, st pageState, kind string, code int, words string) {
		t.Helper()
		if st.State != "idle" || !st.FormVisible || len(st.Errors) == 0 {
			t.Errorf("%s: state %q, form shown %v, errors %v", what, st.State, st.FormVisible, st.Errors)
			return
		}
		last := st.Errors[len(st.Errors)-1]
		if last.Kind != kind || last.Code != code || !strings.Contains(last.Message, words) || !strings.Contains(st.Alert, words) {
			t.Errorf("%s: error %+v, alert %q; want %s %d and %q", what, last, st.Alert, kind, code, words)
		}
	}
	checkError("room 9999", rep.RoomNotFound, "plugin", 485, "does not exist")
	checkError("wrong PIN", rep.WrongPin, "plugin", 489, "Wrong PIN")
	checkError("permission denied", rep.PermissionDenied, "NotAllowedError", 0, "access was denied")
	checkError("no server", rep.Unreachable, "unreachable", 0, "Cannot reach the Tessera server")

	// 1. Three cameras: each decodes the composite at a tier size, hears
	// the mix, and lists all three.
	if len(rep.Three) != 3 {
		t.Fatalf("three pages: %+v", rep.Three)
	}
	want := []string{"Alice", "Bob", "Carol"}
	for _, p := range rep.Three {
		t.Logf("%s: frames %d→%d at %dx%d, audio packets %d→%d, signalling %s, list %v",
			p.Name, p.Frames[0], p.Frames[1], p.Width, p.Height, p.Audio[0], p.Audio[1], p.Transport, displays(p.Participants))
		if p.Frames[1]-p.Frames[0] < 30 {
			t.Errorf("%s decoded %d composite frames in 3 s", p.Name, p.Frames[1]-p.Frames[0])
		}
		if p.Tier == nil || p.Width != p.Tier.Width || p.Height != p.Tier.Height {
			t.Errorf("%s: composite is %dx%d, the server's tier for it %+v", p.Name, p.Width, p.Height, p.Tier)
		}
		if p.Audio[1]-p.Audio[0] < 50 {
			t.Errorf("%s received %d audio packets in 3 s", p.Name, p.Audio[1]-p.Audio[0])
		}
		if got := displays(p.Participants); !slices.Equal(got, want) {
			t.Errorf("%s lists %v, want %v", p.Name, got, want)
		}
		if p.Transport != "websocket" {
			t.Errorf("%s signalled over %q, want websocket", p.Name, p.Transport)
		}
	}
	if rep.TilesThree != 3 {
		t.Errorf("composite has %d tiles with three cameras", rep.TilesThree)
	}
	if !rep.TalkingSeen {
		t.Error("no talking indicator seen from the fake microphones' beeps")
	}

	// Recording: the page asks for the room's secret, refuses a wrong one
	// in words, then records with the REC indicator for everyone (the
	// event) until stopped.
	t.Logf("recording: %+v", rep.Recording)
	if !rep.RecordingAsked || !strings.Contains(rep.RecordingWrongSecret, "Wrong room secret") {
		t.Errorf("recording secret: asked %v, wrong secret alert %q", rep.RecordingAsked, rep.RecordingWrongSecret)
	}
	if r := rep.Recording; !r.Recording || !r.RecIndicator || !r.OtherSeesRec || !r.Stopped || !r.ButtonEnabled {
		t.Errorf("recording: on %v, REC shown %v, shown to Bob %v, stopped for Bob %v, button enabled %v",
			r.Recording, r.RecIndicator, r.OtherSeesRec, r.Stopped, r.ButtonEnabled)
	}

	// 3. Bob's mute shows everywhere.
	if len(rep.Mute) != 3 {
		t.Errorf("mute: %+v", rep.Mute)
	}
	for _, m := range rep.Mute {
		if m.BobMuted == nil || !*m.BobMuted || !m.BadgeVisible {
			muted := "absent"
			if m.BobMuted != nil {
				muted = fmt.Sprint(*m.BobMuted)
			}
			t.Errorf("%s does not show Bob muted (muted %s, badge %v)", m.Name, muted, m.BadgeVisible)
		}
	}
	if rep.MuteButton != "Unmute" {
		t.Errorf("Bob's mute button reads %q", rep.MuteButton)
	}

	// Camera off sends no pictures; on again sends them again.
	cam := rep.Camera
	t.Logf("camera toggle: %d pictures and %d video packets sent in 1.5 s while off", cam.OffFrames, cam.OffPackets)
	if cam.OffFrames > 1 || !cam.OnAgain || cam.Button != "Stop camera" {
		t.Errorf("camera toggle: %d pictures sent while off, sending again %v, button %q", cam.OffFrames, cam.OnAgain, cam.Button)
	}

	// Layouts and screen sharing.
	if !rep.LayoutSpeakerOnBob || !rep.LayoutGridOnBob || !rep.PinnedBobOnCarol || !rep.UnpinnedOnCarol {
		t.Errorf("layout events: speaker %v, grid %v, Bob pinned %v, unpinned %v",
			rep.LayoutSpeakerOnBob, rep.LayoutGridOnBob, rep.PinnedBobOnCarol, rep.UnpinnedOnCarol)
	}
	if !rep.Share.Started || !rep.Share.BackToGrid || rep.Share.CarolSharing {
		t.Errorf("screen share: presentation on Carol %v, back to grid %v, still sharing %v", rep.Share.Started, rep.Share.BackToGrid, rep.Share.CarolSharing)
	}
	large := false
	for _, tile := range rep.Share.Tiles {
		large = large || (tile.Participant == rep.Share.CarolID && tile.Large)
	}
	if !large {
		t.Errorf("Carol's shared screen is not the large tile: %+v", rep.Share.Tiles)
	}

	// 2. Carol leaves: back to the form, two in the others' lists, two tiles.
	if c := rep.Leave.Carol; c.State != "idle" || !c.FormVisible {
		t.Errorf("Carol after leaving: state %q, form shown %v", c.State, c.FormVisible)
	}
	for _, r := range rep.Leave.Remaining {
		if got := displays(r.Participants); !slices.Equal(got, []string{"Alice", "Bob"}) {
			t.Errorf("%s lists %v after Carol left", r.Name, got)
		}
	}
	if rep.TilesBeforeLeave != 3 || rep.Leave.TilesAfter != 2 {
		t.Errorf("tiles %d → %d when Carol left, want 3 → 2", rep.TilesBeforeLeave, rep.Leave.TilesAfter)
	}

	// 4. The viewer decodes the composite, hears the room, sends nothing.
	v := rep.Viewer
	t.Logf("viewer: frames %d→%d at %dx%d, audio %d→%d, packets sent %d, over %s", v.Frames[0], v.Frames[1], v.Width, v.Height, v.Audio[0], v.Audio[1], v.Sent, v.Transport)
	if v.Joined != "joined" || v.Transport != "http" {
		t.Errorf("viewer: %q over %q", v.Joined, v.Transport)
	}
	if v.Frames[1]-v.Frames[0] < 30 || v.Tier == nil || v.Width != v.Tier.Width || v.Height != v.Tier.Height {
		t.Errorf("viewer decoded %d frames in 3 s, at %dx%d; the server's tier for it %+v", v.Frames[1]-v.Frames[0], v.Width, v.Height, v.Tier)
	}
	if v.Audio[1]-v.Audio[0] < 50 {
		t.Errorf("viewer received %d audio packets in 3 s", v.Audio[1]-v.Audio[0])
	}
	if v.Sent != 0 {
		t.Errorf("viewer sent %d packets", v.Sent)
	}
	if !v.AliceSeesDave {
		t.Error("Alice does not list the viewer")
	}
	if v.OverflowX > 0 {
		t.Errorf("the page is %d px wider than a 390 px phone screen", v.OverflowX)
	}

	// 5. janus.js over both transports shares the room with the page.
	if len(rep.JanusJS.Clients) != 2 {
		t.Fatalf("janus.js clients: %+v", rep.JanusJS.Clients)
	}
	for _, c := range rep.JanusJS.Clients {
		if len(c.Errors) > 0 || !slices.Contains(c.Steps, "webrtcup") {
			t.Errorf("janus.js over %s: steps %v, errors %v", c.Transport, c.Steps, c.Errors)
		}
		name := "janus.js " + c.Transport
		if !slices.Contains(rep.JanusJS.AliceSees, name) || !slices.Contains(rep.JanusJS.DaveSees, name) {
			t.Errorf("%q missing from the pages' lists: Alice %v, Dave %v", name, rep.JanusJS.AliceSees, rep.JanusJS.DaveSees)
		}
	}
	if !slices.Equal(rep.JanusJS.Left, []bool{true, true}) || !rep.JanusJS.GoneOnAlice {
		t.Errorf("janus.js leaving: %v, gone from Alice's list %v", rep.JanusJS.Left, rep.JanusJS.GoneOnAlice)
	}

	// A cut connection is explained, and the others see Bob go.
	if rep.Cut < 1 {
		t.Errorf("the proxy cut %d WebSockets, want Bob's", rep.Cut)
	}
	checkError("connection lost", rep.ConnectionLost.pageState, "closed", 0, "connection to the server was lost")
	if !rep.ConnectionLost.GoneOnAlice {
		t.Error("Bob's lost connection did not remove him from Alice's list")
	}

	// Everyone is back at the form and the room is empty.
	for _, f := range rep.Final {
		if f.State != "idle" || !f.FormVisible || len(f.Participants) != 0 {
			t.Errorf("%s after leaving: state %q, form %v, list %v", f.Name, f.State, f.FormVisible, displays(f.Participants))
		}
	}
	if rep.ServerParticipants == nil || len(*rep.ServerParticipants) != 0 {
		t.Errorf("room 1234 still has %v after everyone left", rep.ServerParticipants)
	}

	// 6. The screenshots exist (scripts look at them; artifacts/ is not
	// committed).
	for _, shot := range []string{rep.Screenshot, v.Screenshot} {
		if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
			t.Errorf("screenshot %q: %v", shot, err)
		} else {
			t.Logf("screenshot: %s", shot)
		}
	}
}
