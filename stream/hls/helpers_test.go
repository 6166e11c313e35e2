package hls

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/aac"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/h264"
)

// testAAC is an AudioEncoder over codec/aac (libavcodec's native AAC
// encoder), as the server's HLS streams use it.
type testAAC struct{ enc *aac.Encoder }

func (a testAAC) Encode(pcm []int16, pts time.Duration) ([]AACFrame, error) {
	fs, err := a.enc.Encode(pcm, pts)
	if err != nil {
		return nil, err
	}
	out := make([]AACFrame, len(fs))
	for i, f := range fs {
		out[i] = AACFrame{Data: f.Data, PTS: f.PTS}
	}
	return out, nil
}

func (a testAAC) Config() []byte { return a.enc.AudioSpecificConfig() }

// monoAACConfig is the AudioSpecificConfig of AAC-LC, 48 kHz, mono.
func monoAACConfig() []byte {
	b, err := mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: AudioSampleRate, ChannelCount: 1}.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

// feeder plays the part of a room's stream: a moving picture through the
// real H.264 encoder (a keyframe every 2 s) and a 440 Hz tone, written
// into a Muxer in pts order, paced at real time or as fast as it goes.
type feeder struct {
	w, h, fps int
	realTime  bool
	audio     bool // write the tone (the muxer needs an AudioEncoder)
	keyint    int  // pictures between keyframes; 0 means two seconds' worth
}

// run writes until ctx ends, dur of stream has been written (when
// dur > 0), or a write fails. It returns the write error, if any.
func (f feeder) run(ctx context.Context, t testing.TB, m *Muxer, dur time.Duration) error {
	keyint := f.keyint
	if keyint == 0 {
		keyint = 2 * f.fps
	}
	enc, err := h264.NewEncoder(h264.EncoderConfig{Width: f.w, Height: f.h, FPS: f.fps, KeyframeInterval: keyint})
	if err != nil {
		t.Error(err)
		return err
	}
	defer enc.Close()
	frame := codec.NewFrame(f.w, f.h)
	pcm := make([]int16, 960)
	start := time.Now()
	var vn, an, toneAt int
	for {
		vpts := time.Duration(vn) * time.Second / time.Duration(f.fps)
		apts := time.Duration(an) * 20 * time.Millisecond
		next := vpts
		if f.audio {
			next = min(vpts, apts)
		}
		if dur > 0 && next >= dur {
			return nil
		}
		if f.realTime {
			if d := time.Until(start.Add(next)); d > 0 {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(d):
				}
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if f.audio && apts <= vpts {
			toneAt = codectest.Tone(pcm, 1, AudioSampleRate, 440, 0.3, toneAt)
			if err := m.WriteAudio(pcm, apts); err != nil {
				return err
			}
			an++
			continue
		}
		codectest.MovingPicture(frame, vn)
		pkt, err := enc.Encode(frame)
		if err != nil {
			t.Error(err)
			return err
		}
		if len(pkt.Data) > 0 {
			if err := m.WriteVideo(pkt.Data, pkt.Keyframe, vpts); err != nil {
				return err
			}
		}
		vn++
	}
}

// testSource is a Source whose rooms "1" and "2" stream through a feeder;
// other rooms do not exist. With feed.audio each stream gets its own AAC
// encoder.
type testSource struct {
	t     *testing.T
	cfg   Config
	feed  feeder
	mu    sync.Mutex
	runs  map[string]*feedRun
	start int
	stop  int
}

type feedRun struct {
	cancel     context.CancelFunc
	done       chan struct{}
	mux        *Muxer
	closeAudio func()
}

// newTestAudio makes the AudioEncoder of one test stream and the function
// that releases it.
func newTestAudio() (AudioEncoder, func(), error) {
	enc, err := aac.NewEncoder(aac.EncoderConfig{Bitrate: 64000})
	if err != nil {
		return nil, nil, err
	}
	return testAAC{enc}, func() { _ = enc.Close() }, nil
}

func newTestSource(t *testing.T, feed feeder, cfg Config) *testSource {
	return &testSource{t: t, cfg: cfg, feed: feed, runs: map[string]*feedRun{}}
}

func (s *testSource) Start(room string) (*Muxer, error) {
	if room != "1" && room != "2" {
		return nil, fmt.Errorf("%w: room %s does not exist", ErrNoStream, room)
	}
	cfg := s.cfg
	closeAudio := func() {}
	if s.feed.audio {
		a, closeA, err := newTestAudio()
		if err != nil {
			return nil, err
		}
		cfg.Audio, closeAudio = a, closeA
	}
	m, err := NewMuxer(cfg)
	if err != nil {
		closeAudio()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &feedRun{cancel: cancel, done: make(chan struct{}), mux: m, closeAudio: closeAudio}
	go func() {
		defer close(r.done)
		if err := s.feed.run(ctx, s.t, m, 0); err != nil && err != ErrClosed {
			s.t.Errorf("feeding room %s: %v", room, err)
		}
	}()
	s.mu.Lock()
	s.runs[room] = r
	s.start++
	s.mu.Unlock()
	return m, nil
}

func (s *testSource) Stop(room string) {
	s.mu.Lock()
	r := s.runs[room]
	delete(s.runs, room)
	s.stop++
	s.mu.Unlock()
	if r != nil {
		r.cancel()
		<-r.done
		r.closeAudio()
	}
}

func (s *testSource) counts() (start, stop int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start, s.stop
}
