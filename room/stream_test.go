package room

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/h264"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// captureSink keeps what a stream gives it; fail makes the next write
// fail, delay slows every write down.
type captureSink struct {
	mu     sync.Mutex
	video  []capturedAU
	audio  []int16
	apts   []time.Duration
	fail   error
	delay  time.Duration
	writes int
	closed int
}

func (s *captureSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed++
	return nil
}

func (s *captureSink) closes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

type capturedAU struct {
	au       []byte
	keyframe bool
	pts      time.Duration
}

func (s *captureSink) WriteVideo(au []byte, keyframe bool, pts time.Duration) error {
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	if s.fail != nil {
		return s.fail
	}
	s.video = append(s.video, capturedAU{append([]byte(nil), au...), keyframe, pts})
	return nil
}

func (s *captureSink) WriteAudio(pcm []int16, pts time.Duration) error {
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	if s.fail != nil {
		return s.fail
	}
	s.audio = append(s.audio, pcm...)
	s.apts = append(s.apts, pts)
	return nil
}

func (s *captureSink) snapshot() ([]capturedAU, []int16, []time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]capturedAU(nil), s.video...), append([]int16(nil), s.audio...), append([]time.Duration(nil), s.apts...)
}

// A stream gets the composite as H.264 starting on a keyframe with
// keyframes at least every interval, and the full mix (every talker) as
// PCM, both stamped in order on the room clock; StopStream ends it.
func TestStreamCarriesCompositeAndFullMix(t *testing.T) {
	m := newManager(t)
	r, _ := m.Create(Config{})
	sub := r.Subscribe(0)
	defer sub.Close()
	a := join(t, r, "a", testpeer.Options{ToneHz: 440, Video: "vp8", VideoColor: red})
	b := join(t, r, "b", testpeer.Options{ToneHz: 660})
	if !hears(a.peer, 660) || !hears(b.peer, 440) {
		t.Fatal("the participants do not hear each other")
	}
	sink := &captureSink{}
	info, err := r.StartStream(ctxT(t), StreamOptions{Name: "test", KeyframeInterval: time.Second}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Video || info.Width != 1280 || info.Height != 720 {
		t.Errorf("stream info %+v, want 1280x720 video", info)
	}
	time.Sleep(4 * time.Second)
	if list, _ := r.Streams(ctxT(t)); len(list) != 1 || list[0].ID != info.ID {
		t.Errorf("streams %+v", list)
	}
	if _, err := r.StopStream(ctxT(t), info.ID); err != nil {
		t.Fatal(err)
	}
	video, audio, apts := sink.snapshot()
	if sink.closes() != 1 {
		t.Errorf("the sink was closed %d times after the stop, want once", sink.closes())
	}

	if len(video) < 60 || !video[0].keyframe {
		t.Fatalf("%d frames, first keyframe %v", len(video), len(video) > 0 && video[0].keyframe)
	}
	var lastKey time.Duration
	keys := 0
	for i, f := range video {
		if i > 0 && f.pts <= video[i-1].pts {
			t.Fatalf("video pts %v after %v", f.pts, video[i-1].pts)
		}
		if f.keyframe {
			keys++
			lastKey = f.pts
		} else if f.pts-lastKey > time.Second+200*time.Millisecond {
			t.Fatalf("no keyframe for %v (interval 1 s)", f.pts-lastKey)
		}
	}
	// Each tick's mix follows the last, 20 ms on; a room that had to skip
	// ticks (a starved machine: the race detector) leaves a gap of whole
	// ticks.
	for i := 1; i < len(apts); i++ {
		d := apts[i] - apts[i-1]
		if d <= 0 || d%tick != 0 || (d != tick && !raceEnabled) {
			t.Fatalf("audio pts step %v at %d", d, i)
		}
	}
	if d := time.Duration(len(audio)) * time.Second / 48000; d < 3500*time.Millisecond {
		t.Errorf("%v of audio in 4 s", d)
	}
	// Both talkers are in the full mix: the median over 100 ms windows of
	// the whole stream, which a short stall of the machine does not move.
	for _, hz := range []float64{440, 660} {
		if lvl := codectest.MedianLevel(audio, 48000, hz, 4800); lvl < 0.1 {
			for i := 0; i+24000 <= len(audio); i += 24000 {
				t.Logf("%.1f s: %v Hz at %.3f", float64(i)/48000, hz, codectest.MedianLevel(audio[i:i+24000], 48000, hz, 4800))
			}
			t.Errorf("the full mix lacks %v Hz (level %.3f)", hz, lvl)
		}
	}
	// The last keyframe's picture shows a's red tile.
	pool := codec.NewFramePool(4)
	dec, err := h264.NewDecoder(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var pic *codec.Frame
	for _, f := range video {
		if fr, err := dec.Decode(f.au); err == nil && fr != nil {
			if pic != nil {
				pic.Release()
			}
			pic = fr
		}
	}
	if pic == nil {
		t.Fatal("the stream decodes to nothing")
	}
	defer pic.Release()
	tiles, _ := r.Tiles(ctxT(t))
	found := false
	for _, tile := range tiles {
		if c := tileColor(pic, tile, 1280); c.Distance(red) <= 24 {
			found = true
		}
	}
	if !found {
		t.Errorf("no red tile in the streamed picture (tiles %+v)", tiles)
	}
	// Started and stopped were told.
	var started, stopped bool
	for deadline := time.After(2 * time.Second); !stopped; {
		select {
		case e := <-sub.C:
			if e.Kind == EventStream && e.Stream.ID == info.ID {
				started = started || e.Streaming
				stopped = !e.Streaming && e.Reason == "stopped"
			}
		case <-deadline:
			t.Fatalf("stream events: started %v stopped %v", started, stopped)
		}
	}
	if m.Streams() != 0 {
		t.Errorf("%d streams counted after the stop", m.Streams())
	}
}

// A sink that fails ends its stream with the error told to the room; a
// sink too slow loses frames (counted) but never slows the meeting; the
// room's end ends its streams.
func TestStreamFailingAndSlowSinks(t *testing.T) {
	m := newManager(t)
	r, _ := m.Create(Config{})
	sub := r.Subscribe(0)
	defer sub.Close()
	a := join(t, r, "a", testpeer.Options{ToneHz: 440, Video: "h264", VideoColor: red})
	b := join(t, r, "b", testpeer.Options{ToneHz: 660})
	failing := &captureSink{fail: errors.New("ingest refused the stream")}
	bad, err := r.StartStream(ctxT(t), StreamOptions{Name: "failing"}, failing)
	if err != nil {
		t.Fatal(err)
	}
	slow := &captureSink{delay: 100 * time.Millisecond}
	slowInfo, err := r.StartStream(ctxT(t), StreamOptions{Name: "slow"}, slow)
	if err != nil {
		t.Fatal(err)
	}
	told := false
	for deadline := time.After(5 * time.Second); !told; {
		select {
		case e := <-sub.C:
			told = e.Kind == EventStream && e.Stream.ID == bad.ID && !e.Streaming && e.Reason == "error: ingest refused the stream"
		case <-deadline:
			t.Fatal("the failed stream was not told")
		}
	}
	// The slow sink takes 10 frames a second of about 80: its queue fills
	// within seconds, and then it loses frames.
	var list []StreamInfo
	if !eventually(20*time.Second, func() bool {
		list, _ = r.Streams(ctxT(t))
		return len(list) == 1 && list[0].Dropped > 0
	}) {
		t.Errorf("streams %+v: want only the slow one, with drops", list)
	}
	if len(list) != 1 || list[0].ID != slowInfo.ID {
		t.Errorf("streams %+v: want only the slow one", list)
	}
	if !hears(a.peer, 660) || !hears(b.peer, 440) {
		t.Error("the meeting stopped with a failing and a slow stream")
	}
	if err := m.Destroy(ctxT(t), r.ID()); err != nil {
		t.Fatal(err)
	}
	if m.Streams() != 0 {
		t.Errorf("%d streams counted after the room's end", m.Streams())
	}
	if failing.closes() != 1 || slow.closes() != 1 {
		t.Errorf("sinks closed %d (failed) and %d (room ended) times, want once each", failing.closes(), slow.closes())
	}
	if _, err := r.StopStream(ctxT(t), slowInfo.ID); err == nil {
		t.Error("a stream of an ended room stopped again")
	}
}

// An audio-only room streams its mix alone; the server's stream cap
// refuses one more with its own error.
func TestStreamAudioOnlyAndCap(t *testing.T) {
	m := newLimitedManager(t, Limits{MaxStreams: 1})
	r, _ := m.Create(Config{Video: VideoConfig{Disabled: true}})
	join(t, r, "a", testpeer.Options{ToneHz: 440})
	sink := &captureSink{}
	info, err := r.StartStream(ctxT(t), StreamOptions{Name: "audio"}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if info.Video {
		t.Errorf("audio-only room streams video: %+v", info)
	}
	if _, err := r.StartStream(ctxT(t), StreamOptions{Name: "two"}, &captureSink{}); !errors.Is(err, ErrTooManyStreams) {
		t.Errorf("second stream: %v, want ErrTooManyStreams", err)
	}
	if _, err := r.StopStream(ctxT(t), info.ID+1); !errors.Is(err, ErrNoSuchStream) {
		t.Errorf("stop of an unknown stream: %v", err)
	}
	// The participant's tone reaches the stream once its audio flows.
	var lvl float64
	if !eventually(10*time.Second, func() bool {
		_, audio, _ := sink.snapshot()
		lvl = codectest.MedianLevel(audio[max(0, len(audio)-24000):], 48000, 440, 4800)
		return lvl >= 0.1
	}) {
		t.Errorf("the mix lacks the tone: %s", fmt.Sprint(lvl))
	}
	if _, err := r.StopStream(ctxT(t), info.ID); err != nil {
		t.Fatal(err)
	}
	if video, _, _ := sink.snapshot(); len(video) != 0 {
		t.Errorf("%d video frames from an audio-only room", len(video))
	}
}
