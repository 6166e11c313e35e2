package main

import (
	"context"
	"math"
	"os"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/internal/ffcheck"
	"github.com/tessera-mcu/tessera/internal/nginxrtmp"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// waitFile waits until path exists and is not empty.
func waitFile(t *testing.T, path string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing written to %s within %v", path, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// colorShare is the share of f's chroma samples (and the luma sample at
// each) within a few steps of c: how much of the picture shows c.
func colorShare(f *codec.Frame, c codec.YUV) float64 {
	near := func(a, b byte, tol int) bool { return int(a)-int(b) <= tol && int(b)-int(a) <= tol }
	cw, ch := f.ChromaWidth(), f.ChromaHeight()
	n := 0
	for y := range ch {
		for x := range cw {
			i := y*cw + x
			if near(f.U[i], c.U, 10) && near(f.V[i], c.V, 10) && near(f.Y[2*y*f.Width+2*x], c.Y, 24) {
				n++
			}
		}
	}
	return float64(n) / float64(cw*ch)
}

// A whole server pushes room 1234's meeting to a real nginx-rtmp through
// the Janus API: nginx's recording is H.264 + AAC lasting as long as the
// push streamed, decodes without a complaint, carries both participants'
// tones and the camera's colour. Then nginx dies in the middle of a
// push: every participant hears of it (stream-error), the push comes back
// when nginx does (streaming), and through all of it the participants
// keep hearing each other without a gap.
func TestRTMPPushOfALiveRoom(t *testing.T) {
	needStreamTools(t, nginxrtmp.Check(), ffcheck.Check())
	ngx, err := nginxrtmp.Start(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ngx.Kill() })
	stalls := testpeer.NewStallProbe()
	defer stalls.Stop()
	const adminKey = "rtmp-test-key"
	addr := startServer(t, "-session-timeout", "5m", "-admin-key", adminKey)

	red := codec.RGB(200, 30, 30)
	a, peerA := joinMCU(t, addr, "a", testpeer.Options{ToneHz: 440, Video: "vp8", VideoColor: red, VideoWidth: 640, VideoHeight: 360})
	b, peerB := joinMCU(t, addr, "b", testpeer.Options{ToneHz: 660})
	hearsWithin(t, "a", peerA, 660, 10*time.Second)
	hearsWithin(t, "b", peerB, 440, 10*time.Second)
	from := time.Now()

	// A 20 s push.
	ans := a.streamRequest(map[string]any{"action": "start", "url": ngx.URL("meeting")})
	id := streamID(ans)
	a.awaitEvent("starting", 10*time.Second, streamingEvent("starting", id))
	_, began := a.awaitEvent("streaming", 10*time.Second, streamingEvent("streaming", id))
	time.Sleep(20 * time.Second)
	stopped := time.Now()
	a.streamRequest(map[string]any{"action": "stop", "id": id})
	stopEv, _ := b.awaitEvent("stream-stopped", 10*time.Second, streamingEvent("stream-stopped", id))
	if s, _ := stopEv["stream"].(map[string]any); s["dropped"] != float64(0) {
		t.Errorf("the room dropped frames for a push to a healthy loopback ingest: %v", s)
	}
	streamed := stopped.Sub(began).Seconds()
	t.Logf("first push: +%v to +%v", began.Sub(from).Round(time.Millisecond), stopped.Sub(from).Round(time.Millisecond))

	// nginx dies in the middle of a second push and comes back on the
	// same port.
	id = streamID(a.streamRequest(map[string]any{"action": "start", "url": ngx.URL("again")}))
	a.awaitEvent("streaming", 10*time.Second, streamingEvent("streaming", id))
	b.awaitEvent("streaming", 10*time.Second, streamingEvent("streaming", id))
	waitFile(t, ngx.Recording("again"), 10*time.Second)
	time.Sleep(2 * time.Second)
	t.Logf("nginx killed at +%v", time.Since(from).Round(time.Millisecond))
	ngx.Kill()
	for name, j := range map[string]*janusWS{"a": a, "b": b} {
		ev, _ := j.awaitEvent("stream-error", 10*time.Second, streamingEvent("stream-error", id))
		t.Logf("%s: %v", name, ev)
		if ev["error"] == "" || ev["error"] == nil {
			t.Errorf("%s: stream-error without the error: %v", name, ev)
		}
	}
	time.Sleep(2 * time.Second) // the push retries against a dead port
	ngx2, err := ngx.Restart(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ngx2.Kill() })
	for _, j := range []*janusWS{a, b} {
		j.awaitEvent("streaming again", 20*time.Second, streamingEvent("streaming", id))
	}
	waitFile(t, ngx2.Recording("again"), 10*time.Second)
	time.Sleep(3 * time.Second)
	a.streamRequest(map[string]any{"action": "stop", "id": id})
	a.awaitEvent("stream-stopped", 10*time.Second, streamingEvent("stream-stopped", id))
	to := time.Now()

	// The meeting went on throughout. (ffmpeg reads the recordings only
	// now: on a small machine its decoding would compete with the room.)
	continuity(t, "a", peerA, stalls, from, to)
	continuity(t, "b", peerB, stalls, from, to)
	time.Sleep(time.Second) // what they hear after the last stop
	hearsThroughout(t, "a", peerA, 660, from, addr, adminKey)
	hearsThroughout(t, "b", peerB, 440, from, addr, adminKey)
	list := a.streamRequest(map[string]any{"action": "list"})
	if s, _ := list["streams"].([]any); len(s) != 0 {
		t.Errorf("streams left running: %v", list)
	}

	ctx := context.Background()
	path := ngx.Recording("meeting")
	pr, err := ffcheck.WaitDuration(ctx, path, streamed-0.5, 10*time.Second)
	if err != nil {
		t.Fatalf("%v\nnginx:\n%s", err, ngx.ErrorLog())
	}
	v, au := pr.Stream("video"), pr.Stream("audio")
	if v == nil || v.CodecName != "h264" || v.Width != 1280 || v.Height != 720 {
		t.Errorf("video %+v, want h264 1280x720", v)
	}
	if au == nil || au.CodecName != "aac" || au.SampleRate != "48000" {
		t.Errorf("audio %+v, want aac at 48 kHz", au)
	}
	t.Logf("recording: %.3f s; from the streaming event to the stop %.3f s; streams %+v", pr.Duration(), streamed, pr.Streams)
	if d := pr.Duration(); math.Abs(d-streamed) > 0.5 {
		t.Errorf("the recording lasts %.3f s; %.3f s passed between the streaming event and the stop", d, streamed)
	}
	if fp := pr.FirstVideoPacket(); fp == nil || fp.Flags[0] != 'K' {
		t.Errorf("the recording's first video packet %+v is not a keyframe", fp)
	}
	if out, err := ffcheck.DecodeErrors(ctx, path, 0); err != nil || out != "" {
		t.Errorf("ffmpeg decoding the recording: %v\n%s", err, out)
	}
	pcm, _, err := ffcheck.Audio(ctx, path, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Within a second: a room starved of CPU skips the ticks it missed,
	// and their audio with them.
	if got := float64(len(pcm)) / ffcheck.AudioRate; math.Abs(got-pr.Duration()) > 1 {
		t.Errorf("%.3f s of audio decoded from a %.3f s recording", got, pr.Duration())
	}
	for _, f := range []float64{440, 660} {
		level := codectest.MedianLevel(pcm, ffcheck.AudioRate, f, 4800)
		t.Logf("the recording's audio: %v Hz at %.3f", f, level)
		if level < 0.1 {
			t.Errorf("%v Hz at %.3f in the recording's audio, want about 0.25", f, level)
		}
	}
	if other := codectest.MedianLevel(pcm, ffcheck.AudioRate, 1000, 4800); other > 0.01 {
		t.Errorf("1 kHz at %.3f in a mix of 440 and 660 Hz", other)
	}
	pic, err := ffcheck.Picture(ctx, path, pr.Duration()/2, 1280, 720)
	if err != nil {
		t.Fatal(err)
	}
	share := colorShare(pic, red)
	t.Logf("the camera's colour covers %.0f%% of the picture", 100*share)
	if share < 0.15 {
		t.Errorf("the camera's colour covers %.1f%% of the recorded picture, want its tile (a fifth or more)", 100*share)
	}

	again, err := ffcheck.WaitDuration(ctx, ngx2.Recording("again"), 3, 10*time.Second)
	if err != nil {
		t.Fatalf("%v\nnginx:\n%s", err, ngx2.ErrorLog())
	}
	if v, au := again.Stream("video"), again.Stream("audio"); v == nil || v.CodecName != "h264" || au == nil || au.CodecName != "aac" {
		t.Errorf("the recording after the restart: %+v", again.Streams)
	}
	if fp := again.FirstVideoPacket(); fp == nil || fp.Flags[0] != 'K' {
		t.Errorf("the first video packet after the restart %+v is not a keyframe", fp)
	}
	if out, err := ffcheck.DecodeErrors(ctx, ngx2.Recording("again"), 0); err != nil || out != "" {
		t.Errorf("ffmpeg decoding the recording after the restart: %v\n%s", err, out)
	}

}
