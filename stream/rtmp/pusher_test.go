package rtmp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/message"

	"github.com/tessera-mcu/tessera/codec/codectest"
)

// states records a Pusher's state changes.
type states struct {
	mu      sync.Mutex
	changes []StateChange
}

func (s *states) on(c StateChange) {
	s.mu.Lock()
	s.changes = append(s.changes, c)
	s.mu.Unlock()
}

func (s *states) all() []StateChange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]StateChange(nil), s.changes...)
}

// await waits until a change to st appears at index from or later and
// returns its index.
func (s *states) await(t *testing.T, from int, st State, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		all := s.all()
		for i := from; i < len(all); i++ {
			if all[i].State == st {
				return i
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %v within %v after change %d; changes: %v", st, timeout, from, summary(all))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func summary(cs []StateChange) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "\n  %v attempt %d", c.State, c.Attempt)
		if c.Err != nil {
			fmt.Fprintf(&b, " err=%v retry=%v", c.Err, c.Retry)
		}
	}
	return b.String()
}

// checkGoroutines fails the test if more goroutines run than before once
// a second has passed: a Pusher must wait for every goroutine it started.
func checkGoroutines(t *testing.T) func() {
	before := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Fatalf("%d goroutines left running, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// keyframeRequests counts the Pusher's requests and passes them on.
type keyframeRequests struct {
	mu    sync.Mutex
	n     int
	first chan struct{}
	then  func()
}

func newKeyframeRequests(then func()) *keyframeRequests {
	return &keyframeRequests{first: make(chan struct{}), then: then}
}

func (k *keyframeRequests) request() {
	k.mu.Lock()
	k.n++
	if k.n == 1 {
		close(k.first)
	}
	k.mu.Unlock()
	k.then()
}

func (k *keyframeRequests) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.n
}

// TestPushToNginx publishes 20 s of a room's media to nginx-rtmp and
// checks nginx's recording of it: H.264 and AAC, the whole duration,
// decodable without a complaint, with the tone in the audio.
func TestPushToNginx(t *testing.T) {
	needTools(t)
	ngx := startNginx(t, freePort(t))
	r := newRoom(t)
	var st states
	leaks := checkGoroutines(t)
	kf := newKeyframeRequests(r.forceKeyframe)
	p, err := New(fmt.Sprintf("rtmp://%s/live/meeting", ngx.Addr()), Options{RequestKeyframe: kf.request, OnState: st.on})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Target(), "rtmp://"+ngx.Addr()+"/live/…"; got != want {
		t.Errorf("Target() = %q, want %q", got, want)
	}
	// The room starts its stream when the output is ready for it: the
	// Pusher asks for a keyframe once it is connected.
	select {
	case <-kf.first:
	case <-time.After(10 * time.Second):
		t.Fatalf("the Pusher never connected: %v", summary(st.all()))
	}
	const sent = 20 * time.Second
	// Four times real time: nginx records what it gets as it comes.
	r.feed(p, sent, 4)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	leaks()
	stats := p.Stats()
	t.Logf("stats: %+v", stats)
	if stats.Dropped != 0 || stats.Reconnects != 0 {
		t.Errorf("dropped %d frames and reconnected %d times on a healthy loopback ingest", stats.Dropped, stats.Reconnects)
	}
	if stats.VideoFrames != uint64(r.frames) {
		t.Errorf("sent %d of %d video frames", stats.VideoFrames, r.frames)
	}
	// The encoder holds back up to two AAC frames when the push stops.
	if want := int(sent.Seconds() * audioRate / 1024); int(stats.AudioFrames) < want-2 || int(stats.AudioFrames) > want+1 {
		t.Errorf("sent %d AAC frames for %v of audio, want about %d", stats.AudioFrames, sent, want)
	}
	var seen []State
	for _, c := range st.all() {
		seen = append(seen, c.State)
	}
	if want := []State{StateConnecting, StateStreaming, StateStopped}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("states %v, want %v", seen, want)
	}
	if err := p.WriteVideo([]byte{0, 0, 1, 0x65}, true, sent); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteVideo after Close: %v, want ErrClosed", err)
	}
	if err := p.WriteAudio(make([]int16, audioChunk), sent); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteAudio after Close: %v, want ErrClosed", err)
	}

	path := recording(t, ngx, "meeting", sent.Seconds()-0.5)
	pr, err := probe(path)
	if err != nil {
		t.Fatal(err)
	}
	v, a := pr.Stream("video"), pr.Stream("audio")
	if v == nil || v.CodecName != "h264" || v.Width != 640 || v.Height != 360 {
		t.Errorf("video stream %+v, want h264 640x360", v)
	}
	if a == nil || a.CodecName != "aac" || a.SampleRate != "48000" || a.Channels != 1 {
		t.Errorf("audio stream %+v, want aac 48000 Hz mono", a)
	}
	if d := pr.Duration(); math.Abs(d-sent.Seconds()) > 0.5 {
		t.Errorf("recording lasts %.3f s, %v were sent", d, sent)
	}
	if fp := pr.FirstVideoPacket(); fp == nil || !strings.Contains(fp.Flags, "K") {
		t.Errorf("the recording's first video packet %+v is not a keyframe", fp)
	}
	if out := ffmpegErrors(t, path); out != "" {
		t.Errorf("ffmpeg complained decoding the recording:\n%s", out)
	}
	pcm := decodeAudio(t, path)
	if d := float64(len(pcm)) / audioRate; math.Abs(d-sent.Seconds()) > 0.5 {
		t.Errorf("%.3f s of audio decoded, %v sent", d, sent)
	}
	tone := codectest.MedianLevel(pcm, audioRate, toneFreq, 4800)
	t.Logf("recording: %.3f s, streams %+v; %.3f s of audio, 440 Hz at %.3f", pr.Duration(), pr.Streams, float64(len(pcm))/audioRate, tone)
	if db := codectest.DB(tone / toneAmp); math.Abs(db) > 2 {
		t.Errorf("440 Hz tone at %.3f in the recording (%.1f dB from what was sent)", tone, db)
	}
	if other := codectest.MedianLevel(pcm, audioRate, 1000, 4800); other > tone/100 {
		t.Errorf("1 kHz at %.4f next to the tone's %.3f", other, tone)
	}
}

// TestPushSurvivesIngestRestart kills nginx in the middle of a push and
// starts it again on the same port: the Pusher reports the loss, Write*
// stay fast all along, and it streams again, from a keyframe.
func TestPushSurvivesIngestRestart(t *testing.T) {
	needTools(t)
	port := freePort(t)
	ngx := startNginx(t, port)
	r := newRoom(t)
	var st states
	leaks := checkGoroutines(t)
	kf := newKeyframeRequests(r.forceKeyframe)
	p, err := New(fmt.Sprintf("rtmp://127.0.0.1:%d/live/meeting", port), Options{
		RequestKeyframe: kf.request, OnState: st.on,
		MinBackoff: 250 * time.Millisecond, MaxBackoff: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	select {
	case <-kf.first:
	case <-time.After(10 * time.Second):
		t.Fatalf("the Pusher never connected: %v", summary(st.all()))
	}

	// The room's stream goroutine writes in real time throughout; every
	// Write must return at once whatever the ingest does.
	var (
		mu      sync.Mutex
		longest time.Duration
		stop    = make(chan struct{})
		fed     = make(chan struct{})
	)
	go func() {
		defer close(fed)
		start := time.Now()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if ahead := r.next() - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
			d := r.write(p)
			mu.Lock()
			longest = max(longest, d)
			mu.Unlock()
		}
	}()
	streaming := st.await(t, 0, StateStreaming, 10*time.Second)
	time.Sleep(4 * time.Second)

	ngx.Kill()
	lost := st.await(t, streaming+1, StateReconnecting, 10*time.Second)
	if c := st.all()[lost]; c.Err == nil {
		t.Errorf("reconnecting without the error: %+v", c)
	}
	// Attempts against the dead port fail and back off, doubling.
	refused := st.await(t, lost+1, StateReconnecting, 10*time.Second)
	again := st.await(t, refused+1, StateReconnecting, 10*time.Second)
	all := st.all()
	if !errors.Is(all[refused].Err, syscall.ECONNREFUSED) || all[again].Retry != 2*all[refused].Retry {
		t.Errorf("attempts on the dead port: %v", summary(all[refused:again+1]))
	}
	skippedWhileDown := p.Stats().Skipped

	ngx2 := startNginx(t, port)
	st.await(t, again+1, StateStreaming, 10*time.Second)
	time.Sleep(4 * time.Second)
	close(stop)
	<-fed
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	leaks()

	all = st.all()
	t.Logf("states: %v", summary(all))
	if all[len(all)-1].State != StateStopped {
		t.Errorf("last state %v, want stopped", all[len(all)-1].State)
	}
	mu.Lock()
	if longest > 50*time.Millisecond {
		t.Errorf("a Write took %v while the ingest went away and came back", longest)
	}
	mu.Unlock()
	stats := p.Stats()
	t.Logf("stats: %+v, longest write %v", stats, longest)
	if stats.Reconnects < 3 || stats.LastError == nil {
		t.Errorf("stats %+v: want at least 3 reconnects and the last error", stats)
	}
	if skippedWhileDown == 0 {
		t.Error("nothing was skipped while the ingest was down")
	}
	if kf.count() < 2 {
		t.Errorf("%d keyframe requests: the second connection did not ask for one", kf.count())
	}

	// nginx's second recording holds what came after the reconnect,
	// decodes cleanly and starts on a keyframe.
	path := recording(t, ngx2, "meeting", 3)
	pr, err := probe(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, a := pr.Stream("video"), pr.Stream("audio"); v == nil || v.CodecName != "h264" || a == nil || a.CodecName != "aac" {
		t.Errorf("second recording's streams: %+v", pr.Streams)
	}
	if fp := pr.FirstVideoPacket(); fp == nil || !strings.Contains(fp.Flags, "K") {
		t.Errorf("the second recording's first video packet %+v is not a keyframe", fp)
	}
	if out := ffmpegErrors(t, path); out != "" {
		t.Errorf("ffmpeg complained decoding the second recording:\n%s", out)
	}
}

// TestPushToRefusedPort points a Pusher at a port nothing listens on: it
// keeps retrying with a doubling backoff, Write* still take frames, and
// Close stops it.
func TestPushToRefusedPort(t *testing.T) {
	leaks := checkGoroutines(t)
	var st states
	p, err := New(fmt.Sprintf("rtmp://127.0.0.1:%d/live/key", freePort(t)), Options{
		OnState: st.on, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, audioChunk)
	deadline := time.Now().Add(5 * time.Second)
	for len(st.all()) < 10 && time.Now().Before(deadline) {
		start := time.Now()
		if err := p.WriteAudio(pcm, 0); err != nil {
			t.Fatalf("WriteAudio while reconnecting: %v", err)
		}
		if err := p.WriteVideo([]byte{0, 0, 0, 1, 0x41, 0x9a}, false, 0); err != nil {
			t.Fatalf("WriteVideo while reconnecting: %v", err)
		}
		if d := time.Since(start); d > 50*time.Millisecond {
			t.Errorf("Write* took %v while reconnecting", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.Close()
	leaks()
	all := st.all()
	var retries []time.Duration
	for _, c := range all {
		if c.State == StateReconnecting {
			if !errors.Is(c.Err, syscall.ECONNREFUSED) {
				t.Errorf("reconnecting with %v, want connection refused", c.Err)
			}
			retries = append(retries, c.Retry)
		}
	}
	want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond}
	if len(retries) < len(want) || fmt.Sprint(retries[:len(want)]) != fmt.Sprint(want) {
		t.Errorf("retry delays %v, want %v then 200ms", retries, want)
	}
	if all[0].State != StateConnecting || all[len(all)-1].State != StateStopped {
		t.Errorf("states: %v", summary(all))
	}
	stats := p.Stats()
	if stats.State != StateStopped || stats.Reconnects < 4 || !errors.Is(stats.LastError, syscall.ECONNREFUSED) || stats.Skipped == 0 || stats.VideoFrames != 0 {
		t.Errorf("stats %+v", stats)
	}
}

func TestBadURLIsRefused(t *testing.T) {
	for _, u := range []string{
		"",
		"http://127.0.0.1/live/key",
		"rtmp://",
		"rtmp:///live/key",
		"rtmp://127.0.0.1",
		"rtmp://127.0.0.1/live",
		"rtmp://127.0.0.1/live/",
		"rtmp://127.0.0.1:99999/live/key",
		"rtmp://127.0.0.1:abc/live/key",
		"rtmp://[::1/live/key",
	} {
		if p, err := New(u, Options{}); !errors.Is(err, ErrBadURL) {
			if p != nil {
				p.Close()
			}
			t.Errorf("New(%q): %v, want ErrBadURL", u, err)
		}
	}
	if p, err := New("rtmp://127.0.0.1/live/key", Options{AudioBitrate: 1000}); !errors.Is(err, ErrBadOptions) {
		if p != nil {
			p.Close()
		}
		t.Errorf("AudioBitrate 1000: %v, want ErrBadOptions", err)
	}
	if p, err := New("rtmp://127.0.0.1/live/key", Options{MinBackoff: time.Minute, MaxBackoff: time.Second}); !errors.Is(err, ErrBadOptions) {
		if p != nil {
			p.Close()
		}
		t.Errorf("MaxBackoff below MinBackoff: %v, want ErrBadOptions", err)
	}
}

func TestTargetSplitsAppAndKey(t *testing.T) {
	for _, c := range []struct{ in, app, key, redacted string }{
		{"rtmp://127.0.0.1/live/key", "/live", "key", "rtmp://127.0.0.1/live/…"},
		{"rtmps://127.0.0.1:4443/app/inst/k-1?x=y", "/app/inst", "k-1?x=y", "rtmps://127.0.0.1:4443/app/inst/…"},
		{"rtmp://u:pw@127.0.0.1/live#key", "/live", "key", "rtmp://127.0.0.1/live/…"},
	} {
		tg, err := parseTarget(c.in)
		if err != nil {
			t.Errorf("parseTarget(%q): %v", c.in, err)
			continue
		}
		if tg.url.Path != c.app || tg.url.Fragment != c.key || tg.redacted != c.redacted {
			t.Errorf("parseTarget(%q) = app %q key %q shown as %q; want %q %q %q", c.in, tg.url.Path, tg.url.Fragment, tg.redacted, c.app, c.key, c.redacted)
		}
		if strings.Contains(tg.redacted, "key") || strings.Contains(tg.redacted, "pw") {
			t.Errorf("%q shows a secret", tg.redacted)
		}
	}
}

// TestTimestampsRiseAcrossReconnects drops the Pusher's connection from
// the server side and reads what it sends on the next one: sequence
// headers first, then a keyframe, and timestamps that carry on from the
// first connection's rather than starting over.
func TestTimestampsRiseAcrossReconnects(t *testing.T) {
	srv := startRTMPServer(t, nil)
	r := newRoom(t)
	var st states
	leaks := checkGoroutines(t)
	p, err := New(srv.url("meeting"), Options{RequestKeyframe: r.forceKeyframe, OnState: st.on, MinBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop, fed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(fed)
		start := time.Now()
		for {
			select {
			case <-stop:
				return
			default:
			}
			// Twice real time.
			if ahead := r.next()/2 - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
			r.write(p)
		}
	}()

	type media struct {
		video, config, key bool
		dts                time.Duration
	}
	// read returns the first n audio and video messages of a connection.
	read := func(pub *publisher, n int) []media {
		t.Helper()
		var out []media
		for len(out) < n {
			msg, err := pub.sc.Read()
			if err != nil {
				t.Fatalf("read from the Pusher: %v", err)
			}
			switch m := msg.(type) {
			case *message.Video:
				out = append(out, media{video: true, config: m.Type == message.VideoTypeConfig, key: m.IsKeyFrame, dts: m.DTS})
			case *message.Audio:
				out = append(out, media{config: m.AACType == message.AudioAACTypeConfig, dts: m.DTS})
			}
		}
		return out
	}
	accept := func() *publisher {
		t.Helper()
		select {
		case pub := <-srv.conns:
			return pub
		case <-time.After(10 * time.Second):
			t.Fatalf("the Pusher did not connect: %v", summary(st.all()))
			return nil
		}
	}
	check := func(conn int, ms []media, after time.Duration) time.Duration {
		t.Helper()
		if !ms[0].video || !ms[0].config || ms[1].video || !ms[1].config {
			t.Errorf("connection %d does not start with the AVC and AAC sequence headers: %+v", conn, ms[:2])
		}
		if !ms[2].video || !ms[2].key || ms[2].config {
			t.Errorf("connection %d: first frame %+v is not a keyframe", conn, ms[2])
		}
		if ms[2].dts <= after {
			t.Errorf("connection %d starts at %v, not after the %v the last one reached", conn, ms[2].dts, after)
		}
		last := map[bool]time.Duration{true: -1, false: -1}
		for i, m := range ms[2:] {
			if m.config {
				continue
			}
			if m.dts < last[m.video] || m.dts < ms[2].dts {
				t.Fatalf("connection %d, message %d: %+v goes back in time (last %v)", conn, i+2, m, last[m.video])
			}
			last[m.video] = m.dts
		}
		return max(last[true], last[false])
	}

	first := accept()
	reached := check(1, read(first, 150), -1)
	first.nc.Close()
	second := accept()
	check(2, read(second, 150), reached)
	close(stop)
	<-fed
	p.Close()
	leaks()
	if n := p.Stats().Reconnects; n != 1 {
		t.Errorf("%d reconnects, want 1", n)
	}
}

// TestPushOverTLS publishes to an rtmps:// ingest whose certificate the
// Pusher is told to trust, and fails over and over, without crashing, on
// one it is not.
func TestPushOverTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	srv := startRTMPServer(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	r := newRoom(t)
	leaks := checkGoroutines(t)

	var untrusted states
	bad, err := New(srv.url("meeting"), Options{OnState: untrusted.on, MinBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	i := untrusted.await(t, 0, StateReconnecting, 10*time.Second)
	var unknown x509.UnknownAuthorityError
	if c := untrusted.all()[i]; !errors.As(c.Err, &unknown) {
		t.Errorf("untrusted certificate: %v, want x509.UnknownAuthorityError", c.Err)
	}
	bad.Close()

	p, err := New(srv.url("meeting"), Options{RequestKeyframe: r.forceKeyframe, TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	var pub *publisher
	for pub == nil {
		select {
		case pub = <-srv.conns:
		default:
			r.write(p)
			time.Sleep(5 * time.Millisecond)
		}
	}
	if _, ok := pub.nc.(*tls.Conn); !ok {
		t.Fatalf("connection is %T, not TLS", pub.nc)
	}
	// The server reads on its own while the room goes on writing.
	tenFrames := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		video := 0
		for {
			msg, err := pub.sc.Read()
			if err != nil {
				return
			}
			if m, ok := msg.(*message.Video); ok && m.Type == message.VideoTypeAU {
				if video++; video == 10 {
					close(tenFrames)
				}
			}
		}
	}()
	deadline := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case <-tenFrames:
			done = true
		case <-deadline:
			t.Fatal("ten video frames did not arrive over TLS")
		default:
			r.write(p)
			time.Sleep(5 * time.Millisecond)
		}
	}
	p.Close()
	<-readDone
	leaks()
	if st := p.Stats(); st.VideoFrames < 10 || st.Reconnects != 0 {
		t.Errorf("stats over TLS: %+v", st)
	}
}
