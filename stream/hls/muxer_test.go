package hls

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// playlistInfo is what a test reads out of a media playlist.
type playlistInfo struct {
	target   int
	sequence int
	extinf   []float64
	segments []string
	parts    []float64 // durations of every EXT-X-PART
	partURIs []string
	mapURI   string
	pdt      int // EXT-X-PROGRAM-DATE-TIME lines
	indep    int // parts marked INDEPENDENT=YES
}

var (
	reTag  = regexp.MustCompile(`^#(EXT[A-Z-]+)(?::(.*))?$`)
	reAttr = regexp.MustCompile(`([A-Z-]+)=("[^"]*"|[^,]*)`)
)

func parsePlaylist(t *testing.T, body []byte) playlistInfo {
	t.Helper()
	var p playlistInfo
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if len(lines) == 0 || lines[0] != "#EXTM3U" {
		t.Fatalf("not a playlist:\n%s", body)
	}
	for i, l := range lines {
		m := reTag.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		attrs := map[string]string{}
		for _, a := range reAttr.FindAllStringSubmatch(m[2], -1) {
			attrs[a[1]] = strings.Trim(a[2], `"`)
		}
		switch m[1] {
		case "EXT-X-TARGETDURATION":
			p.target, _ = strconv.Atoi(m[2])
		case "EXT-X-MEDIA-SEQUENCE":
			p.sequence, _ = strconv.Atoi(m[2])
		case "EXTINF":
			d, _ := strconv.ParseFloat(strings.TrimSuffix(m[2], ","), 64)
			p.extinf = append(p.extinf, d)
			p.segments = append(p.segments, lines[i+1])
		case "EXT-X-PART":
			d, _ := strconv.ParseFloat(attrs["DURATION"], 64)
			p.parts = append(p.parts, d)
			p.partURIs = append(p.partURIs, attrs["URI"])
			if attrs["INDEPENDENT"] == "YES" {
				p.indep++
			}
		case "EXT-X-MAP":
			p.mapURI = attrs["URI"]
		case "EXT-X-PROGRAM-DATE-TIME":
			if _, err := time.Parse(time.RFC3339Nano, m[2]); err != nil {
				t.Errorf("bad date-time %q: %v", m[2], err)
			}
			p.pdt++
		}
	}
	return p
}

// TestWindowSlides writes 40 s of real H.264 into a Muxer as fast as it
// encodes and checks that the playlist slides: it lists the last Window
// segments of about 2 s each, old segments are gone, the muxer holds no
// more than the window and a little, and the segments are fMP4 fragments
// holding every picture.
func TestWindowSlides(t *testing.T) {
	m, err := NewMuxer(Config{ProgramDateTime: true})
	if err != nil {
		t.Fatal(err)
	}
	f := feeder{w: 320, h: 180, fps: 30}
	if err := f.run(context.Background(), t, m, 40*time.Second); err != nil {
		t.Fatal(err)
	}
	st := m.Stats()
	if st.Segments != 19 || st.VideoFrames != 1200 || st.VideoDropped != 0 {
		t.Fatalf("stats %+v, want 19 segments of 1200 frames", st)
	}
	m.mu.Lock()
	held := len(m.segs)
	m.mu.Unlock()
	if held > DefaultWindow+keepAfterWindow+1 {
		t.Errorf("muxer holds %d segments, want at most %d", held, DefaultWindow+keepAfterWindow+1)
	}

	body, err := m.Playlist(context.Background(), PlaylistRequest{MSN: -1, Part: -1})
	if err != nil {
		t.Fatal(err)
	}
	p := parsePlaylist(t, body)
	if p.target != 2 || p.sequence != 14 || len(p.extinf) != DefaultWindow {
		t.Fatalf("target %d, sequence %d, %d segments; want 2, 14, %d:\n%s", p.target, p.sequence, len(p.extinf), DefaultWindow, body)
	}
	for i, d := range p.extinf {
		if d < 1.99 || d > 2.01 {
			t.Errorf("segment %d lasts %.3f s, want 2", i, d)
		}
	}
	if p.pdt != DefaultWindow+1 {
		t.Errorf("%d program date-times, want one per segment (%d)", p.pdt, DefaultWindow+1)
	}
	// The parts of the last three complete segments and of the open one.
	var sum float64
	for _, d := range p.parts {
		if d > DefaultPartDuration.Seconds()+0.001 {
			t.Errorf("part of %.3f s exceeds the part target", d)
		}
		sum += d
	}
	if want := 3*2.0 + 0.2*(float64(len(p.parts))-30); len(p.parts) < 31 || sum < want-0.01 || sum > want+0.01 {
		t.Errorf("%d parts lasting %.3f s; want 30 for the last three segments and some of the open one", len(p.parts), sum)
	}
	if p.indep != 4 {
		t.Errorf("%d independent parts, want one per listed segment (4)", p.indep)
	}

	if _, err := m.Resource(context.Background(), m.segmentName(11)); !errors.Is(err, ErrNotFound) {
		t.Errorf("segment 11, out of the window and its margin: %v, want ErrNotFound", err)
	}
	if _, err := m.Resource(context.Background(), m.segmentName(12)); err != nil {
		t.Errorf("segment 12, just out of the window: %v, want it kept", err)
	}
	if _, err := m.Resource(context.Background(), m.segmentName(20)); !errors.Is(err, ErrNotFound) {
		t.Errorf("open segment 20: %v, want ErrNotFound", err)
	}
	if _, err := m.Resource(context.Background(), "other-init.mp4"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another stream's init: %v, want ErrNotFound", err)
	}

	// Over HTTP: a segment that left the window and its margin is a 404
	// with a body; one in the window is served whole.
	_, srv := startServer(t, fixedSource{m})
	r := get(t, srv.URL+"/hls/1/index.m3u8")
	if r.code != http.StatusOK || r.body != string(body) {
		t.Fatalf("playlist over HTTP: %d\n%s", r.code, r.body)
	}
	if r := get(t, srv.URL+"/hls/1/"+m.segmentName(11)); r.code != http.StatusNotFound || !strings.Contains(r.body, "left the window") {
		t.Errorf("segment 11 over HTTP: %d %q, want 404 with a body", r.code, r.body)
	}
	r = get(t, srv.URL+"/hls/1/"+p.segments[0])
	if seg, _ := m.Resource(context.Background(), p.segments[0]); r.code != http.StatusOK || len(r.body) != seg.Size ||
		r.hdr.Get("Cache-Control") != "public, max-age=3600, immutable" || r.hdr.Get("Content-Type") != MediaType {
		t.Errorf("segment %s over HTTP: %d, %d bytes, %v", p.segments[0], r.code, len(r.body), r.hdr)
	}

	initRes, err := m.Resource(context.Background(), p.mapURI)
	if err != nil {
		t.Fatal(err)
	}
	var init fmp4.Init
	if err := init.Unmarshal(bytes.NewReader(initRes.Chunks[0])); err != nil {
		t.Fatal(err)
	}
	if len(init.Tracks) != 1 || init.Tracks[0].TimeScale != videoTimeScale {
		t.Fatalf("init tracks %+v", init.Tracks)
	}
	for _, name := range p.segments {
		res, err := m.Resource(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		data := bytes.Join(res.Chunks, nil)
		if len(data) != res.Size {
			t.Fatalf("%s: %d bytes, Size says %d", name, len(data), res.Size)
		}
		var parts fmp4.Parts
		if err := parts.Unmarshal(data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		samples := 0
		for i, part := range parts {
			for _, tr := range part.Tracks {
				samples += len(tr.Samples)
				if i == 0 && tr.Samples[0].IsNonSyncSample {
					t.Errorf("%s does not start with a keyframe", name)
				}
			}
		}
		if samples != 60 {
			t.Errorf("%s holds %d pictures, want 60", name, samples)
		}
	}
}

// TestSegmentBoundWithoutKeyframes feeds a stream whose only keyframe is
// its first: segments are cut anyway at four segment durations, so the
// muxer's memory stays bounded, and the target duration says how long
// they are.
func TestSegmentBoundWithoutKeyframes(t *testing.T) {
	m, err := NewMuxer(Config{Window: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := (feeder{w: 160, h: 90, fps: 30, keyint: 10000}).run(context.Background(), t, m, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Segments != 7 || st.ForcedCuts != 7 {
		t.Errorf("stats %+v, want 7 segments, all cut without a keyframe", st)
	}
	m.mu.Lock()
	held := len(m.segs)
	m.mu.Unlock()
	if held > 3+keepAfterWindow+1 {
		t.Errorf("muxer holds %d segments, want at most %d", held, 3+keepAfterWindow+1)
	}
	body, err := m.Playlist(context.Background(), PlaylistRequest{MSN: -1, Part: -1})
	if err != nil {
		t.Fatal(err)
	}
	if p := parsePlaylist(t, body); p.target != 8 || len(p.extinf) != 3 || p.indep != 0 {
		t.Errorf("target %d, %d segments, %d independent parts; want 8, 3, 0:\n%s", p.target, len(p.extinf), p.indep, body)
	}
}

// TestBlockingReload asks for parts and segments that do not exist yet:
// the playlist comes back once they do, and one asked for too far ahead
// is refused.
func TestBlockingReload(t *testing.T) {
	m, wctx := liveMuxer(t)
	if err := m.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	next := m.nextMSN
	m.mu.Unlock()

	for _, part := range []int64{3, 8} {
		start := time.Now()
		body, err := m.Playlist(wctx, PlaylistRequest{MSN: int64(next), Part: part})
		if err != nil {
			t.Fatal(err)
		}
		if want := m.partName(next, int(part)); !bytes.Contains(body, []byte(want)) {
			t.Errorf("playlist for msn %d part %d lacks %s:\n%s", next, part, want, body)
		}
		t.Logf("part %d.%d listed after %v", next, part, time.Since(start))
	}
	// A part past the last of segment next is the first of next+1.
	body, err := m.Playlist(wctx, PlaylistRequest{MSN: int64(next), Part: 40})
	if err != nil {
		t.Fatal(err)
	}
	if want := m.partName(next+1, 0); !bytes.Contains(body, []byte(want)) {
		t.Errorf("playlist for msn %d part 40 lacks %s, the part after the segment's last:\n%s", next, want, body)
	}
	body, err = m.Playlist(wctx, PlaylistRequest{MSN: int64(next + 1), Part: -1})
	if err != nil {
		t.Fatal(err)
	}
	if want := m.segmentName(next + 1); !bytes.Contains(body, []byte(want+"\n")) {
		t.Errorf("playlist for msn %d lacks the segment:\n%s", next+1, body)
	}
	if _, err := m.Playlist(wctx, PlaylistRequest{MSN: int64(next + 5), Part: -1}); !errors.Is(err, ErrFutureSegment) {
		t.Errorf("msn %d while the edge is at %d: %v, want ErrFutureSegment", next+5, next+2, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Playlist(wctx, PlaylistRequest{MSN: int64(next + 3), Part: 0}); !errors.Is(err, ErrClosed) {
		t.Errorf("waiting on a closed muxer: %v, want ErrClosed", err)
	}
	if err := m.WriteVideo([]byte{0, 0, 0, 1, 0x65, 0x88}, true, time.Hour); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close: %v, want ErrClosed", err)
	}
}

// fixedSource serves one Muxer for every room and leaves it open on Stop.
type fixedSource struct{ m *Muxer }

func (s fixedSource) Start(string) (*Muxer, error) { return s.m, nil }
func (s fixedSource) Stop(string)                  {}

// TestPreloadHint checks the playlist's EXT-X-PRELOAD-HINT: it names the
// part not made yet, a request for that part waits until the part exists
// and gets it, and a part further ahead is not found at once.
func TestPreloadHint(t *testing.T) {
	m, wctx := liveMuxer(t)

	for range 3 {
		body, err := m.Playlist(wctx, PlaylistRequest{MSN: -1, Part: -1})
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(body)), "\n")
		hint, ok := strings.CutPrefix(lines[len(lines)-1], "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=")
		if !ok {
			t.Fatalf("the playlist does not end with a part preload hint:\n%s", body)
		}
		hint = strings.Trim(hint, `"`)
		if bytes.Contains(body, []byte(`URI="`+hint+`",`)) || bytes.Contains(body, []byte(`URI="`+hint+`"`+"\n#EXT-X-PART")) {
			t.Fatalf("the hint %s names a listed part:\n%s", hint, body)
		}
		m.mu.Lock()
		hm, hi := m.hintLocked()
		m.mu.Unlock()
		if ahead := m.partName(hm, hi+2); true {
			start := time.Now()
			if _, err := m.Resource(wctx, ahead); !errors.Is(err, ErrNotFound) || time.Since(start) > 50*time.Millisecond {
				t.Errorf("part %s, beyond the hint: %v after %v, want ErrNotFound at once", ahead, err, time.Since(start))
			}
		}
		res, err := m.Resource(wctx, hint)
		if err != nil || res.Size == 0 {
			t.Fatalf("hinted part %s: %v, %d bytes; want the part once made", hint, err, res.Size)
		}
		var parts fmp4.Parts
		if err := parts.Unmarshal(bytes.Join(res.Chunks, nil)); err != nil || len(parts) != 1 {
			t.Fatalf("hinted part %s: %d fragments, %v", hint, len(parts), err)
		}
	}
}

// TestSequenceStartsAtOne checks that the first segment is number 1 and
// that the playlist carries no program date-time unless asked to (both
// keep hls.js playing; see Config.ProgramDateTime and NewMuxer).
func TestSequenceStartsAtOne(t *testing.T) {
	m, err := NewMuxer(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := (feeder{w: 160, h: 90, fps: 30}).run(context.Background(), t, m, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	body, err := m.Playlist(context.Background(), PlaylistRequest{MSN: -1, Part: -1})
	if err != nil {
		t.Fatal(err)
	}
	if p := parsePlaylist(t, body); p.sequence != 1 || p.pdt != 0 || len(p.segments) == 0 || p.segments[0] != m.segmentName(1) {
		t.Errorf("sequence %d, %d date-times, segments %v; want 1, none, starting with %s:\n%s", p.sequence, p.pdt, p.segments, m.segmentName(1), body)
	}
}

// liveMuxer is a Muxer fed in real time (320x180, 30 fps, no audio) until
// the test ends, and a context that bounds the test's waits to 10 s.
func liveMuxer(t *testing.T) (*Muxer, context.Context) {
	m, err := NewMuxer(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = feeder{w: 320, h: 180, fps: 30, realTime: true}.run(ctx, t, m, 0)
	}()
	t.Cleanup(func() { cancel(); <-done })
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	t.Cleanup(wcancel)
	return m, wctx
}
