package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// debianPython is the interpreter Debian's python3-gi is built for (a
// python3 earlier on PATH, from pyenv or a venv, cannot import gi).
const debianPython = "/usr/bin/python3"

// needGStreamer checks that scripts/e2e/whip-gst.py can run: Debian's
// python3 with the GStreamer introspection data and the elements the
// publisher uses. Without them the test is skipped, unless TESSERA_E2E=1
// (scripts/test.sh, which installs them) makes that a failure.
func needGStreamer(t *testing.T) {
	t.Helper()
	probe := `import gi
gi.require_version("Gst", "1.0"); gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0"); gi.require_version("Nice", "0.1")
from gi.repository import Gst
Gst.init(None)
missing = [e for e in "webrtcbin nicesink audiotestsrc opusenc rtpopuspay videotestsrc vp8enc rtpvp8pay".split()
           if Gst.ElementFactory.find(e) is None]
if missing:
    raise SystemExit("missing GStreamer elements: " + " ".join(missing))
`
	out, err := exec.Command(debianPython, "-c", probe).CombinedOutput()
	if err == nil {
		return
	}
	msg := strings.TrimSpace(string(out))
	if os.Getenv("TESSERA_E2E") == "1" {
		t.Fatalf("the GStreamer WHIP publisher cannot run (run scripts/test.sh): %v %s", err, msg)
	}
	t.Skipf("the GStreamer WHIP publisher cannot run (%v %s); scripts/test.sh installs it", err, msg)
}

// gstPublisher is scripts/e2e/whip-gst.py running, read event by event.
type gstPublisher struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	stderr *strings.Builder
	done   chan struct{}
	err    error
}

// startGstPublisher runs the publisher against url with token, sending
// a freq Hz tone and a videotestsrc pattern.
func startGstPublisher(t *testing.T, url, token string, freq int, pattern string) *gstPublisher {
	t.Helper()
	cmd := exec.Command(debianPython, filepath.Join(e2eDir, "whip-gst.py"),
		"--url", url, "--token="+token, "--freq", strconv.Itoa(freq), "--pattern", pattern, "--no-stdin")
	p := &gstPublisher{t: t, cmd: cmd, lines: make(chan string, 16), stderr: &strings.Builder{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			p.lines <- s.Text()
		}
		close(p.lines)
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() && p.stderr.Len() > 0 {
			t.Logf("publisher stderr:\n%s", p.stderr.String())
		}
	})
	return p
}

// next returns the publisher's next event; the zero map when it ended.
func (p *gstPublisher) next(d time.Duration) map[string]any {
	p.t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			return nil
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			p.t.Fatalf("the publisher said %q", line)
		}
		return m
	case <-time.After(d):
		p.t.Fatalf("no word from the publisher in %v", d)
		return nil
	}
}

// expect waits for the publisher's next event and checks its name.
func (p *gstPublisher) expect(event string) map[string]any {
	p.t.Helper()
	m := p.next(30 * time.Second)
	if m == nil || m["event"] != event {
		p.t.Fatalf("publisher: %v, want event %q", m, event)
	}
	return m
}

// exitCode waits for the publisher to end and returns its exit status.
func (p *gstPublisher) exitCode() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.t.Fatal("the publisher did not end")
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatal(p.err)
	}
	return 0
}

// participantIDs asks the Janus API for the participants of j's room by
// name.
func participantIDs(j *janusWS) map[string]uint64 {
	ev := j.call(map[string]any{"janus": "message", "session_id": j.sid, "handle_id": j.hid,
		"body": map[string]any{"request": "listparticipants", "room": j.roomID()}})
	pd, _ := ev["plugindata"].(map[string]any)
	data, _ := pd["data"].(map[string]any)
	list, _ := data["participants"].([]any)
	out := map[string]uint64{}
	for _, p := range list {
		m, _ := p.(map[string]any)
		name, _ := m["display"].(string)
		id, _ := m["id"].(float64)
		out[name] = uint64(id)
	}
	return out
}

// tileOf asks the Janus API where participant id is drawn on the
// composite of j's room: its rectangle and the canvas width.
func tileOf(j *janusWS, id uint64) (x, y, w, h, canvasW int, ok bool) {
	ev := j.call(map[string]any{"janus": "message", "session_id": j.sid, "handle_id": j.hid,
		"body": map[string]any{"request": "tiles", "room": j.roomID()}})
	pd, _ := ev["plugindata"].(map[string]any)
	data, _ := pd["data"].(map[string]any)
	cw, _ := data["width"].(float64)
	list, _ := data["tiles"].([]any)
	for _, tl := range list {
		m, _ := tl.(map[string]any)
		if p, _ := m["participant"].(float64); uint64(p) != id {
			continue
		}
		get := func(k string) int { v, _ := m[k].(float64); return int(v) }
		return get("x"), get("y"), get("width"), get("height"), int(cw), true
	}
	return 0, 0, 0, 0, 0, false
}

// tileMean is the mean colour of the middle of a tile (canvas
// coordinates) in a decoded composite, away from its label and border.
func tileMean(f *codec.Frame, x, y, w, h, canvasW int) codec.YUV {
	s := float64(f.Width) / float64(canvasW)
	fx, fy := int(float64(x)*s), int(float64(y)*s)
	fw, fh := int(float64(w)*s), int(float64(h)*s)
	return f.Mean(codec.R(fx+fw*3/10, fy+fh*3/10, fw*4/10, fh*3/10))
}

// Debian's GStreamer (webrtcbin, driven by scripts/e2e/whip-gst.py)
// publishes a red test pattern and a 440 Hz tone into room 1234 over
// WHIP with a token minted through the admin API: a Janus participant
// already there hears the tone and sees the red tile under the token's
// name; when the publisher is stopped (SIGTERM: it DELETEs its session)
// the participant leaves and the tone stops. Before that, a publish with
// a wrong token is refused with 401 and nobody joins.
func TestWHIPFromGStreamer(t *testing.T) {
	needGStreamer(t)
	const adminKey = "adm"
	addr := startServer(t, "-admin-key", adminKey)
	alice, peer := joinMCU(t, addr, "alice", testpeer.Options{Video: "vp8", VideoColor: codec.RGB(30, 40, 220)})
	whipURL := "http://" + addr + "/whip/1234"

	refused := startGstPublisher(t, whipURL, "not-the-token", 440, "red")
	ev := refused.expect("refused")
	if ev["status"] != float64(401) {
		t.Errorf("wrong token: %v, want status 401", ev)
	}
	if code := refused.exitCode(); code != 1 {
		t.Errorf("the refused publisher exited %d, want 1", code)
	}
	if names := listParticipants(alice); !slices.Equal(names, []string{"alice"}) {
		t.Errorf("after the refused publish the room lists %q", names)
	}
	if st := roomStats(t, addr, adminKey); st.Participants != 1 {
		t.Errorf("after the refused publish: %d participants, want 1", st.Participants)
	}
	if lvl := peer.Level(440, 500*time.Millisecond); lvl > 0.02 {
		t.Errorf("alice hears 440 Hz at %.3f before anyone sends it", lvl)
	}

	token := mintToken(t, addr, adminKey, "whip", "gstreamer")
	pub := startGstPublisher(t, whipURL, token, 440, "red")
	ev = pub.expect("published")
	if loc, _ := ev["location"].(string); !strings.HasPrefix(loc, whipURL+"/") {
		t.Errorf("Location %q", loc)
	}
	pub.expect("connected")

	var id uint64
	if !eventuallyTrue(10*time.Second, func() bool { id = participantIDs(alice)["gstreamer"]; return id != 0 }) {
		t.Fatalf("the room lists %q, not the publisher", listParticipants(alice))
	}
	if !eventuallyTrue(15*time.Second, func() bool { return peer.Level(440, 500*time.Millisecond) >= 0.1 }) {
		t.Errorf("alice hears the publisher's 440 Hz at %.3f", peer.Level(440, 500*time.Millisecond))
	}
	red := codec.RGB(255, 0, 0)
	var seen codec.YUV
	if !eventuallyTrue(15*time.Second, func() bool {
		x, y, w, h, cw, ok := tileOf(alice, id)
		f := peer.VideoFrame()
		if !ok || f == nil {
			return false
		}
		seen = tileMean(f, x, y, w, h, cw)
		return seen.Distance(red) <= 24
	}) {
		t.Errorf("the publisher's tile shows %+v, want red %+v", seen, red)
	}
	t.Logf("440 Hz at %.3f, tile %+v", peer.Level(440, 500*time.Millisecond), seen)

	if err := pub.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ev = pub.expect("stopped")
	if ev["status"] != float64(200) {
		t.Errorf("DELETE answered %v", ev["status"])
	}
	if code := pub.exitCode(); code != 0 {
		t.Errorf("the publisher exited %d", code)
	}
	if !eventuallyTrue(5*time.Second, func() bool { return slices.Equal(listParticipants(alice), []string{"alice"}) }) {
		t.Errorf("after the publisher stopped the room lists %q", listParticipants(alice))
	}
	if !eventuallyTrue(5*time.Second, func() bool { return peer.Level(440, 500*time.Millisecond) < 0.02 }) {
		t.Errorf("alice still hears 440 Hz at %.3f", peer.Level(440, 500*time.Millisecond))
	}
}

// eventuallyTrue polls cond every 100 ms until it holds or d passes.
func eventuallyTrue(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// A GStreamer publisher that dies without a word (SIGKILL: no DELETE, no
// DTLS close) still leaves the room: its session ends when ICE declares
// the connection failed, about 30 s after the last packet.
func TestWHIPFromGStreamerKilled(t *testing.T) {
	needGStreamer(t)
	const adminKey = "adm"
	addr := startServer(t, "-admin-key", adminKey)
	alice, _ := joinMCU(t, addr, "alice", testpeer.Options{Video: "vp8"})
	pub := startGstPublisher(t, "http://"+addr+"/whip/1234", mintToken(t, addr, adminKey, "whip", "gstreamer"), 440, "red")
	pub.expect("published")
	pub.expect("connected")
	if !eventuallyTrue(10*time.Second, func() bool { return participantIDs(alice)["gstreamer"] != 0 }) {
		t.Fatalf("the room lists %q, not the publisher", listParticipants(alice))
	}

	if err := pub.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if code := pub.exitCode(); code != -1 {
		t.Errorf("the killed publisher exited %d", code)
	}
	if !eventuallyTrue(45*time.Second, func() bool { return slices.Equal(listParticipants(alice), []string{"alice"}) }) {
		t.Fatalf("45 s after the publisher was killed the room lists %q", listParticipants(alice))
	}
	t.Logf("the killed publisher left after %v", time.Since(killed).Round(100*time.Millisecond))
	if st := roomStats(t, addr, adminKey); st.Participants != 1 {
		t.Errorf("%d participants, want 1", st.Participants)
	}
}
