package hls

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/h264"
)

// needTool returns the path of a command the test runs, skipping the test
// when it is missing; with TESSERA_E2E=1 (set by scripts/test.sh, which
// installs it) a missing tool is a failure instead.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("TESSERA_E2E") == "1" {
			t.Fatalf("%s missing (run scripts/test.sh): %v", name, err)
		}
		t.Skipf("%s missing (%v); scripts/test.sh installs it", name, err)
	}
	return p
}

// ffmpegAAC is an AudioEncoder that pipes the PCM through an ffmpeg
// process (libavcodec's native AAC encoder) and reads ADTS back.
type ffmpegAAC struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{} // the reader has returned
	once  sync.Once

	mu      sync.Mutex
	frames  [][]byte // read and not yet handed out
	emitted int      // frames handed out so far
	first   time.Duration
	started bool
	readErr error
}

// newFFmpegAAC starts ffmpeg (the path needTool returned).
func newFFmpegAAC(ffmpeg string) (*ffmpegAAC, error) {
	cmd := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error",
		"-probesize", "32", "-analyzeduration", "0",
		"-f", "s16le", "-ar", "48000", "-ac", "1", "-i", "pipe:0",
		"-c:a", "aac", "-b:a", "64k", "-flush_packets", "1", "-f", "adts", "pipe:1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	a := &ffmpegAAC{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go a.read(stdout)
	return a, nil
}

// read cuts ADTS frames off ffmpeg's output and keeps their payloads.
func (a *ffmpegAAC) read(r io.Reader) {
	defer close(a.done)
	br := bufio.NewReader(r)
	hdr := make([]byte, 7)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			a.fail(err)
			return
		}
		if hdr[0] != 0xff || hdr[1]&0xf0 != 0xf0 {
			a.fail(fmt.Errorf("ADTS sync lost"))
			return
		}
		hlen := 7
		if hdr[1]&1 == 0 {
			hlen = 9 // with CRC
		}
		flen := int(hdr[3]&3)<<11 | int(hdr[4])<<3 | int(hdr[5])>>5
		if flen < hlen {
			a.fail(fmt.Errorf("ADTS frame length %d", flen))
			return
		}
		body := make([]byte, flen-7)
		if _, err := io.ReadFull(br, body); err != nil {
			a.fail(err)
			return
		}
		a.mu.Lock()
		a.frames = append(a.frames, body[hlen-7:])
		a.mu.Unlock()
	}
}

func (a *ffmpegAAC) fail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != io.EOF && a.readErr == nil {
		a.readErr = err
	}
}

// Encode implements AudioEncoder. ffmpeg's first frame is the encoder's
// priming (1024 samples of delay), so frame k starts at sample (k-1)*1024
// of the input.
func (a *ffmpegAAC) Encode(pcm []int16, pts time.Duration) ([]AACFrame, error) {
	a.mu.Lock()
	if !a.started {
		a.started, a.first = true, pts
	}
	err := a.readErr
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 2*len(pcm))
	for i, s := range pcm {
		buf[2*i], buf[2*i+1] = byte(s), byte(uint16(s)>>8)
	}
	if _, err := a.stdin.Write(buf); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]AACFrame, 0, len(a.frames))
	for _, f := range a.frames {
		k := a.emitted - 1
		out = append(out, AACFrame{Data: f, PTS: a.first + time.Duration(k)*aacFrameSamples*time.Second/AudioSampleRate})
		a.emitted++
	}
	a.frames = a.frames[:0]
	return out, nil
}

// Config implements AudioEncoder.
func (a *ffmpegAAC) Config() []byte { return monoAACConfig() }

// monoAACConfig is the AudioSpecificConfig of AAC-LC, 48 kHz, mono.
func monoAACConfig() []byte {
	b, err := mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: AudioSampleRate, ChannelCount: 1}.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

func (a *ffmpegAAC) close() {
	a.once.Do(func() {
		_ = a.stdin.Close()
		<-a.done
		_ = a.cmd.Wait()
	})
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
// other rooms do not exist. With feed.audio each stream gets its own
// ffmpegAAC.
type testSource struct {
	t      *testing.T
	cfg    Config
	feed   feeder
	ffmpeg string // set when feed.audio
	mu     sync.Mutex
	runs   map[string]*feedRun
	start  int
	stop   int
}

type feedRun struct {
	cancel     context.CancelFunc
	done       chan struct{}
	mux        *Muxer
	closeAudio func()
}

// newTestAudio makes the AudioEncoder of one test stream and the function
// that releases it: ffmpeg (the path needTool returned) as a pipe.
var newTestAudio = func(ffmpeg string) (AudioEncoder, func(), error) {
	a, err := newFFmpegAAC(ffmpeg)
	if err != nil {
		return nil, nil, err
	}
	return a, a.close, nil
}

func newTestSource(t *testing.T, feed feeder, cfg Config) *testSource {
	s := &testSource{t: t, cfg: cfg, feed: feed, runs: map[string]*feedRun{}}
	if feed.audio {
		s.ffmpeg = needTool(t, "ffmpeg")
	}
	return s
}

func (s *testSource) Start(room string) (*Muxer, error) {
	if room != "1" && room != "2" {
		return nil, fmt.Errorf("%w: room %s does not exist", ErrNoStream, room)
	}
	cfg := s.cfg
	closeAudio := func() {}
	if s.feed.audio {
		a, closeA, err := newTestAudio(s.ffmpeg)
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
