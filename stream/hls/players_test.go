package hls

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/internal/e2etool"
)

// e2eDir holds the npm project with playwright-core and hls.js.
var e2eDir = filepath.Join("..", "..", "scripts", "e2e")

// avSource streams rooms with a 640x360 30 fps picture and a tone in
// AAC, in real time.
func avSource(t *testing.T) *testSource {
	return newTestSource(t, feeder{w: 640, h: 360, fps: 30, realTime: true, audio: true}, Config{})
}

// TestFFmpegReadsTheStream has ffprobe find an H.264 and an AAC stream in
// the playlist, and ffmpeg decode six seconds of both without a single
// error.
func TestFFmpegReadsTheStream(t *testing.T) {
	ffprobe := e2etool.Need(t, "ffprobe")
	ffmpeg := e2etool.Need(t, "ffmpeg")
	_, srv := startServer(t, avSource(t))
	playlist := srv.URL + "/hls/1/index.m3u8"

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	probe := exec.CommandContext(ctx, ffprobe, "-v", "error", "-show_entries",
		"stream=codec_type,codec_name,width,height,sample_rate,channels", "-of", "json", playlist)
	var stderr bytes.Buffer
	probe.Stderr = &stderr
	out, err := probe.Output()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, stderr.String())
	}
	var info struct {
		Streams []struct {
			CodecType  string `json:"codec_type"`
			CodecName  string `json:"codec_name"`
			Width      int    `json:"width"`
			Height     int    `json:"height"`
			SampleRate string `json:"sample_rate"`
			Channels   int    `json:"channels"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("ffprobe output %s: %v", out, err)
	}
	var video, audio bool
	for _, s := range info.Streams {
		switch {
		case s.CodecType == "video" && s.CodecName == "h264" && s.Width == 640 && s.Height == 360:
			video = true
		case s.CodecType == "audio" && s.CodecName == "aac" && s.SampleRate == "48000" && s.Channels == 1:
			audio = true
		}
	}
	if !video || !audio || stderr.Len() > 0 {
		t.Fatalf("ffprobe found %s (stderr %q); want h264 640x360 and aac 48000 Hz mono", out, stderr.String())
	}

	raw := filepath.Join(t.TempDir(), "audio.raw")
	dec := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-v", "error", "-t", "6", "-i", playlist,
		"-map", "0:v", "-f", "null", "-",
		"-map", "0:a", "-f", "s16le", "-ac", "1", "-ar", "48000", raw,
		"-progress", "pipe:1", "-nostats")
	stderr.Reset()
	dec.Stderr = &stderr
	out, err = dec.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg decode: %v\n%s", err, stderr.String())
	}
	frames := 0
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "frame="); ok {
			frames, _ = strconv.Atoi(v)
		}
	}
	if frames < 170 {
		t.Errorf("ffmpeg decoded %d pictures in 6 s, want about 180", frames)
	}
	pcmBytes, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, len(pcmBytes)/2)
	for i := range pcm {
		pcm[i] = int16(uint16(pcmBytes[2*i]) | uint16(pcmBytes[2*i+1])<<8)
	}
	if len(pcm) < 5*AudioSampleRate {
		t.Fatalf("ffmpeg decoded %.2f s of audio, want about 6", float64(len(pcm))/AudioSampleRate)
	}
	tone := codectest.MedianLevel(pcm, AudioSampleRate, 440, 960)
	other := codectest.MedianLevel(pcm, AudioSampleRate, 1000, 960)
	t.Logf("%d pictures, %.2f s of audio: 440 Hz at %.3f, 1000 Hz at %.4f", frames, float64(len(pcm))/AudioSampleRate, tone, other)
	if tone < 0.2 || other > tone/30 {
		t.Errorf("decoded audio: 440 Hz at %.3f, 1000 Hz at %.3f of full scale; want the 0.3 tone alone", tone, other)
	}
}

// TestChromiumPlaysWithHLSJS plays a room's stream in headless Chromium
// with hls.js in low-latency mode, from a page on another origin (so CORS
// matters), and checks that it plays for ten seconds: the video clock
// advances, pictures and audio are decoded, parts are loaded, and hls.js
// reports no fatal error.
func TestChromiumPlaysWithHLSJS(t *testing.T) {
	node := e2etool.Need(t, "node")
	for _, pkg := range []string{"playwright-core", "hls.js"} {
		if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", pkg)); err != nil {
			if os.Getenv("TESSERA_E2E") == "1" {
				t.Fatalf("npm package %s missing (run scripts/test.sh): %v", pkg, err)
			}
			t.Skipf("npm package %s missing; scripts/test.sh installs it", pkg)
		}
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = e2etool.Need(t, "chromium")
	}
	_, srv := startServer(t, avSource(t))

	files := map[string]string{
		"/hls.html":    filepath.Join(e2eDir, "hls.html"),
		"/hls.min.js":  filepath.Join(e2eDir, "node_modules", "hls.js", "dist", "hls.min.js"),
		"/favicon.ico": "",
	}
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok || f == "" {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, f)
	}))
	defer page.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pageURL := page.URL + "/hls.html?src=" + url.QueryEscape(srv.URL+"/hls/1/index.m3u8")
	cmd := exec.CommandContext(ctx, node, "hls-play.mjs", pageURL, "10")
	cmd.Dir = e2eDir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hls-play.mjs: %v\n%s", err, stderr.String())
	}
	type state struct {
		Supported     bool     `json:"supported"`
		Playing       bool     `json:"playing"`
		Fatal         []string `json:"fatal"`
		Errors        []string `json:"errors"`
		Parts         int      `json:"parts"`
		Fragments     int      `json:"fragments"`
		CurrentTime   float64  `json:"currentTime"`
		Width         int      `json:"width"`
		Height        int      `json:"height"`
		FramesDecoded int      `json:"framesDecoded"`
		FramesDropped int      `json:"framesDropped"`
		AudioBytes    int      `json:"audioBytes"`
		Latency       float64  `json:"latency"`
		LowLatency    bool     `json:"lowLatency"`
	}
	var rep struct {
		PageErrors []string `json:"pageErrors"`
		Failure    string   `json:"failure"`
		AtStart    *state   `json:"atStart"`
		AtEnd      *state   `json:"atEnd"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report %s: %v\n%s", out, err, stderr.String())
	}
	t.Logf("report: %s", out)
	if rep.Failure != "" || len(rep.PageErrors) > 0 || rep.AtStart == nil || !rep.AtStart.Supported {
		t.Fatalf("the page failed: %s", out)
	}
	if rep.AtEnd == nil {
		t.Fatalf("the video never played: %+v", *rep.AtStart)
	}
	s, e := rep.AtStart, rep.AtEnd
	if len(e.Fatal) > 0 {
		t.Errorf("hls.js fatal errors: %v", e.Fatal)
	}
	if adv := e.CurrentTime - s.CurrentTime; adv < 8 {
		t.Errorf("the video clock advanced %.2f s in 10 s of watching, want at least 8", adv)
	}
	if e.Width != 640 || e.Height != 360 || e.FramesDecoded-s.FramesDecoded < 240 {
		t.Errorf("video %dx%d, %d pictures decoded while watched; want 640x360 and about 300", e.Width, e.Height, e.FramesDecoded-s.FramesDecoded)
	}
	if e.AudioBytes <= s.AudioBytes {
		t.Errorf("no audio decoded while watched (%d bytes, then %d)", s.AudioBytes, e.AudioBytes)
	}
	if !e.LowLatency || e.Parts == 0 {
		t.Errorf("hls.js loaded %d parts (low-latency mode %v): the part tags are not used", e.Parts, e.LowLatency)
	}
}
