package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// needPromtool finds promtool (Debian's prometheus package). Without it
// the lint is left out, unless TESSERA_E2E=1 (scripts/test.sh) makes
// that a failure.
func needPromtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("TESSERA_E2E") == "1" {
			t.Fatalf("promtool not found and TESSERA_E2E=1: %v", err)
		}
		t.Logf("promtool not installed (apt-get install prometheus): the scrape is not linted; set TESSERA_E2E=1 to make this a failure")
	}
	return path
}

// freeAddr is a loopback address with a port nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// scrape is one read of the metrics listener.
type scrape struct {
	raw  []byte
	fams map[string]*dto.MetricFamily
}

func getMetrics(t *testing.T, addr, key string) scrape {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %v %d %.200q", err, resp.StatusCode, raw)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("scrape does not parse: %v", err)
	}
	return scrape{raw: raw, fams: fams}
}

// value sums the series of name whose labels include the given pairs
// (name, value, ...): a counter's or gauge's value, a histogram's count.
func (s scrape) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	f := s.fams[name]
	if f == nil {
		t.Fatalf("no metric %s in the scrape", name)
	}
	var sum float64
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum
}

// janusWS is a Janus API client on one WebSocket.
type janusWS struct {
	t    *testing.T
	c    *websocket.Conn
	sid  uint64
	hid  uint64
	room uint64 // the room joined; 0: the demo room
	seen []map[string]any
}

// roomID is the room the client joined (the demo room, 1234, unless
// joined elsewhere).
func (j *janusWS) roomID() uint64 {
	if j.room == 0 {
		return uint64(demoRoom.ID)
	}
	return j.room
}

func dialJanus(t *testing.T, addr string) *janusWS {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"janus-protocol"}}
	c, _, err := d.Dial("ws://"+addr+"/janus", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &janusWS{t: t, c: c}
}

// call sends a request and returns its answer (not its ack).
func (j *janusWS) call(req map[string]any) map[string]any {
	j.t.Helper()
	tx := fmt.Sprintf("t%d", time.Now().UnixNano())
	req["transaction"] = tx
	if err := j.c.WriteJSON(req); err != nil {
		j.t.Fatal(err)
	}
	_ = j.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m map[string]any
		if err := j.c.ReadJSON(&m); err != nil {
			j.t.Fatalf("waiting for the answer to %v: %v (seen %v)", req, err, j.seen)
		}
		if m["transaction"] == tx && m["janus"] != "ack" {
			return m
		}
		j.seen = append(j.seen, m)
	}
}

func id(m map[string]any) uint64 {
	data, _ := m["data"].(map[string]any)
	n, _ := data["id"].(float64)
	return uint64(n)
}

// joinMCU makes a session, attaches the video MCU plugin and joins room
// 1234 with a real WebRTC peer that sends opts' media.
func joinMCU(t *testing.T, addr, display string, opts testpeer.Options) (*janusWS, *testpeer.Peer) {
	t.Helper()
	return joinMCURoom(t, addr, uint64(demoRoom.ID), "", display, opts)
}

// joinMCURoom is joinMCU into room roomID with pin (empty: none).
func joinMCURoom(t *testing.T, addr string, roomID uint64, pin, display string, opts testpeer.Options) (*janusWS, *testpeer.Peer) {
	t.Helper()
	j := dialJanus(t, addr)
	j.room = roomID
	j.sid = id(j.call(map[string]any{"janus": "create"}))
	j.hid = id(j.call(map[string]any{"janus": "attach", "session_id": j.sid, "plugin": "janus.plugin.mcu"}))
	if j.sid == 0 || j.hid == 0 {
		t.Fatalf("session %d handle %d", j.sid, j.hid)
	}
	peer, err := testpeer.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = peer.Close() })
	offer, err := peer.Offer()
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"request": "join", "room": roomID, "display": display}
	if pin != "" {
		body["pin"] = pin
	}
	ev := j.call(map[string]any{"janus": "message", "session_id": j.sid, "handle_id": j.hid,
		"body": body, "jsep": map[string]any{"type": "offer", "sdp": offer}})
	jsep, _ := ev["jsep"].(map[string]any)
	if jsep == nil {
		t.Fatalf("join: %v", ev)
	}
	if err := peer.Accept(jsep["sdp"].(string)); err != nil {
		t.Fatal(err)
	}
	if err := peer.WaitConnected(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	return j, peer
}

// waitFor polls the metrics until ok holds of a scrape.
func waitFor(t *testing.T, what string, addr, key string, ok func(s scrape) bool) scrape {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := getMetrics(t, addr, key)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen in the metrics within 10 s:\n%s", what, s.raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dashboardMetric finds the metric names in the dashboard's queries.
var dashboardMetric = regexp.MustCompile(`\b(?:tessera|go|process)_[a-z_]+\b`)

// The metrics of a server with a live room of real WebRTC participants
// pass promtool's checks, and their counters follow the traffic: packets
// rise while media flows, a PLI makes a keyframe, a leave takes a
// participant away, Janus requests are counted by type and error code.
func TestMetricsOfALiveRoom(t *testing.T) {
	promtool := needPromtool(t)
	metricsAddr, key := freeAddr(t), "scrape-key"
	addr := startServer(t, "-metrics-listen", metricsAddr, "-metrics-key", key)

	// Refused without the key, on the server's own listener.
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("scrape without the key: %s", resp.Status)
	}

	a, peerA := joinMCU(t, addr, "a", testpeer.Options{ToneHz: 440, Video: "vp8", VideoNoise: 20})
	b, _ := joinMCU(t, addr, "b", testpeer.Options{ToneHz: 660, Video: "vp8"})

	// Media flows both ways: packets and bytes in and out for audio and
	// video, the composite's encoder runs, the workers tick.
	live := waitFor(t, "media in and out", metricsAddr, key, func(s scrape) bool {
		for _, m := range []string{"audio", "video"} {
			for _, d := range []string{"in", "out"} {
				if s.value(t, "tessera_media_packets_total", "media", m, "direction", d) == 0 ||
					s.value(t, "tessera_media_bytes_total", "media", m, "direction", d) == 0 {
					return false
				}
			}
		}
		// Room statistics are published at least once a second.
		return s.value(t, "tessera_video_keyframes_total") > 0 && s.value(t, "tessera_video_viewers") == 2
	})
	if promtool != "" {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(live.raw)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool check metrics: %v\n%s\nscrape:\n%s", err, out, live.raw)
		}
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"tessera_rooms", nil, 1},
		{"tessera_participants", []string{"kind", "webrtc"}, 2},
		{"tessera_participants", []string{"kind", "none"}, 0},
		{"tessera_janus_sessions", nil, 2},
		{"tessera_janus_handles", nil, 2},
		{"tessera_janus_requests_total", []string{"request", "create", "code", "0"}, 2},
		{"tessera_janus_requests_total", []string{"request", "attach", "code", "0"}, 2},
		{"tessera_janus_request_duration_seconds", []string{"request", "message"}, 2},
		{"tessera_video_viewers", []string{"codec", "vp8"}, 2},
	} {
		if got := live.value(t, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// The media port moves its datagrams in batches: each call moves one
	// or more, and every packet counted went through them.
	for _, d := range []string{"in", "out"} {
		calls, dgs := live.value(t, "tessera_media_socket_calls_total", "direction", d), live.value(t, "tessera_media_socket_datagrams_total", "direction", d)
		pkts := live.value(t, "tessera_media_packets_total", "direction", d)
		t.Logf("media port %s: %.0f datagrams in %.0f calls", d, dgs, calls)
		if calls == 0 || dgs < calls || dgs < pkts {
			t.Errorf("media port %s: %.0f datagrams in %.0f calls for %.0f RTP packets", d, dgs, calls, pkts)
		}
	}
	if live.value(t, "tessera_media_send_dropped_total") != 0 {
		t.Errorf("datagrams dropped on the way out:\n%s", live.raw)
	}
	// Two single-stream cameras of 320x180, decoded whole.
	waitFor(t, "the cameras' inputs", metricsAddr, key, func(s scrape) bool {
		return s.value(t, "tessera_video_inputs", "layers", "single") == 2 &&
			s.value(t, "tessera_video_inputs", "layers", "simulcast") == 0 &&
			s.value(t, "tessera_video_decoded_pixels") == 2*320*180
	})
	// Every metric the Grafana dashboard in docs queries is one the
	// server exposes (a renamed metric would leave a panel empty).
	dash, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Compact(slices.Sorted(slices.Values(dashboardMetric.FindAllString(string(dash), -1)))) {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if live.fams[name] == nil && live.fams[base] == nil {
			t.Errorf("the dashboard queries %s, which the server does not expose", name)
		}
	}
	if live.value(t, "tessera_video_encoders", "codec", "vp8") < 1 {
		t.Errorf("no VP8 composite encoder running")
	}
	if live.value(t, "tessera_worker_tick_duration_seconds") == 0 || live.value(t, "tessera_worker_busy_seconds_total") == 0 {
		t.Errorf("workers show no ticks:\n%s", live.raw)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "tessera_build_info"} {
		if live.fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}

	// Packets keep rising with the traffic.
	later := waitFor(t, "packets rising", metricsAddr, key, func(s scrape) bool {
		for _, m := range []string{"audio", "video"} {
			for _, d := range []string{"in", "out"} {
				if s.value(t, "tessera_media_packets_total", "media", m, "direction", d) <=
					live.value(t, "tessera_media_packets_total", "media", m, "direction", d) {
					return false
				}
			}
		}
		return true
	})

	// A viewer's PLI reaches the room and makes a forced keyframe. One
	// that comes right after a keyframe is answered by it (no new one),
	// so the viewer asks again until one is forced, as a real client does.
	forced := false
	for deadline := time.Now().Add(10 * time.Second); !forced && time.Now().Before(deadline); {
		if err := peerA.RequestKeyframe(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(600 * time.Millisecond) // beyond the room's keyframe interval
		s := getMetrics(t, metricsAddr, key)
		forced = s.value(t, "tessera_keyframe_requests_total", "direction", "in") > later.value(t, "tessera_keyframe_requests_total", "direction", "in") &&
			s.value(t, "tessera_video_forced_keyframes_total") > later.value(t, "tessera_video_forced_keyframes_total") &&
			s.value(t, "tessera_video_keyframes_total") > later.value(t, "tessera_video_keyframes_total")
	}
	if !forced {
		t.Fatalf("no forced keyframe after PLIs:\n%s", getMetrics(t, metricsAddr, key).raw)
	}

	// A leave takes one participant away; a request on a session that
	// does not exist is counted with its error code (458).
	b.call(map[string]any{"janus": "message", "session_id": b.sid, "handle_id": b.hid, "body": map[string]any{"request": "leave"}})
	a.call(map[string]any{"janus": "attach", "session_id": 42, "plugin": "janus.plugin.mcu"})
	waitFor(t, "a participant leaving", metricsAddr, key, func(s scrape) bool {
		return s.value(t, "tessera_participants", "kind", "webrtc") == 1 &&
			s.value(t, "tessera_janus_requests_total", "request", "attach", "code", "458") == 1
	})
	b.call(map[string]any{"janus": "destroy", "session_id": b.sid})
	waitFor(t, "a session ending", metricsAddr, key, func(s scrape) bool {
		return s.value(t, "tessera_janus_sessions") == 1 && s.value(t, "tessera_janus_handles") == 1
	})
	if testing.Verbose() {
		t.Logf("scrape:\n%s", strings.TrimSpace(string(later.raw)))
	}
}
