package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/internal/ffcheck"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// fetchStatus fetches url and returns its status and body.
func fetchStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// A whole server serves room 1234's meeting as HLS to ffprobe and ffmpeg
// reading the playlist as players do: H.264 1280x720 and AAC, decoding
// without a complaint, the participant's tone in the audio. A viewer
// without a token gets 401, one with a wrong token 403, a room without
// HLS 404. Once nobody has asked for the playlist for the idle timeout,
// the room's HLS stream (and its encoding) is gone.
func TestHLSOfALiveRoom(t *testing.T) {
	needStreamTools(t, ffcheck.Check())
	metricsAddr, key := freeAddr(t), "scrape-key"
	addr := startServer(t, "-hls-idle", "2s", "-session-timeout", "5m", "-metrics-listen", metricsAddr, "-metrics-key", key)
	a, peerA := joinMCU(t, addr, "a", testpeer.Options{ToneHz: 440, Video: "vp8", VideoColor: codec.RGB(30, 160, 60)})
	deadline := time.Now().Add(10 * time.Second)
	for peerA.VideoFramesSince(time.Now().Add(-time.Second)) < 5 {
		if time.Now().After(deadline) {
			t.Fatal("a receives no composite")
		}
		time.Sleep(100 * time.Millisecond)
	}
	base := "http://" + addr + "/hls/"

	// Refusals, before any stream starts.
	other := janusData(a.call(map[string]any{"janus": "message", "session_id": a.sid, "handle_id": a.hid,
		"body": map[string]any{"request": "create", "room": 5678, "secret": "other-secret"}}))
	if other["mcu"] != "created" {
		t.Fatalf("create room 5678: %v", other)
	}
	for _, c := range []struct {
		url  string
		want int
	}{
		{base + "1234/index.m3u8", http.StatusUnauthorized},
		{base + "1234/index.m3u8?token=wrong", http.StatusForbidden},
		{base + "5678/index.m3u8?token=other-secret", http.StatusNotFound},
	} {
		if got, body := fetchStatus(t, c.url); got != c.want {
			t.Errorf("GET %s: %d %q, want %d", c.url, got, body, c.want)
		}
	}
	if n := getMetrics(t, metricsAddr, key).value(t, "tessera_streams"); n != 0 {
		t.Errorf("tessera_streams = %v before anyone watched", n)
	}

	// Players read the playlist.
	playlist := base + "1234/index.m3u8?token=adminpwd"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pr, err := ffcheck.Probe(ctx, playlist, false)
	if err != nil {
		t.Fatal(err)
	}
	v, au := pr.Stream("video"), pr.Stream("audio")
	if v == nil || v.CodecName != "h264" || v.Width != 1280 || v.Height != 720 {
		t.Errorf("video %+v, want h264 1280x720", v)
	}
	if au == nil || au.CodecName != "aac" || au.SampleRate != "48000" {
		t.Errorf("audio %+v, want aac at 48 kHz", au)
	}
	if out, err := ffcheck.DecodeErrors(ctx, playlist, 5); err != nil || out != "" {
		t.Errorf("ffmpeg decoding 5 s of the playlist: %v\n%s", err, out)
	}
	pcm, complaints, err := ffcheck.Audio(ctx, playlist, 5)
	if err != nil {
		t.Fatal(err)
	}
	if complaints != "" {
		t.Errorf("ffmpeg complained decoding the audio: %s", complaints)
	}
	if got := float64(len(pcm)) / ffcheck.AudioRate; got < 4 {
		t.Errorf("%.2f s of audio decoded, want 4 or more", got)
	}
	tone := codectest.MedianLevel(pcm, ffcheck.AudioRate, 440, 4800)
	t.Logf("HLS: streams %+v; %.2f s of audio, 440 Hz at %.3f", pr.Streams, float64(len(pcm))/ffcheck.AudioRate, tone)
	if tone < 0.1 {
		t.Errorf("440 Hz at %.3f in the HLS audio, want about 0.25", tone)
	}

	// The stream runs while watched ...
	list := a.streamRequest(map[string]any{"action": "list"})
	if s, _ := list["streams"].([]any); len(s) != 1 || !strings.Contains(listedName(s[0]), "hls") {
		t.Errorf("streams while watched: %v", list)
	}
	if n := getMetrics(t, metricsAddr, key).value(t, "tessera_streams"); n != 1 {
		t.Errorf("tessera_streams = %v while watched, want 1", n)
	}
	// ... and ends once nobody asks for it.
	waitFor(t, "the HLS stream ending after the idle timeout", metricsAddr, key, func(s scrape) bool {
		return s.value(t, "tessera_streams") == 0
	})
	list = a.streamRequest(map[string]any{"action": "list"})
	if s, _ := list["streams"].([]any); len(s) != 0 {
		t.Errorf("streams after the idle timeout: %v", list)
	}
	if got, body := fetchStatus(t, base+"1234/part0.mp4?token=adminpwd"); got != http.StatusNotFound {
		t.Errorf("a part of the ended stream: %d %q, want 404", got, body)
	}
}

// listedName is the name of a stream in a stream list.
func listedName(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["name"].(string)
	return s
}
