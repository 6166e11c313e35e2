package record

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/h264"
	"github.com/tessera-mcu/tessera/codec/opus"
	"github.com/tessera-mcu/tessera/codec/vp8"
)

// Synthetic meeting content: 320x180 at 15 fps with a keyframe every two
// seconds, and a 440 Hz tone in 20 ms Opus packets.
const (
	testW, testH   = 320, 180
	testFPS        = 15
	testKeyEvery   = 2 * testFPS
	testSeconds    = 15
	testFrameDur   = time.Second / testFPS
	testPacketDur  = 20 * time.Millisecond
	testAudioCount = testSeconds * int(time.Second/testPacketDur)
)

type sample struct {
	video bool
	data  []byte
	key   bool
	pts   time.Duration
}

// contentCache holds each codec's content (name -> *contentEntry).
var contentCache sync.Map

type contentEntry struct {
	once sync.Once
	s    []sample
	err  error
}

// encodedVideo returns testSeconds of encoded video for codec ("vp8" or
// "h264"), encoded once per test binary.
func encoded(t testing.TB, codecName string) []sample {
	t.Helper()
	e, _ := contentCache.LoadOrStore(codecName, &contentEntry{})
	ce := e.(*contentEntry)
	ce.once.Do(func() { ce.s, ce.err = encodeContent(codecName) })
	if ce.err != nil {
		t.Fatal(ce.err)
	}
	return ce.s
}

func encodeContent(name string) ([]sample, error) {
	switch name {
	case "opus":
		return encodeOpus(testAudioCount)
	case CodecVP8, CodecH264:
		return encodeVideo(name, testSeconds*testFPS)
	}
	return nil, errors.New("unknown codec " + name)
}

type forcingEncoder interface {
	codec.VideoEncoder
	codec.KeyframeForcer
}

func encodeVideo(name string, n int) ([]sample, error) {
	var enc forcingEncoder
	var err error
	if name == CodecVP8 {
		enc, err = vp8.NewEncoder(vp8.EncoderConfig{Width: testW, Height: testH, FPS: testFPS, KeyframeInterval: 1000})
	} else {
		enc, err = h264.NewEncoder(h264.EncoderConfig{Width: testW, Height: testH, FPS: testFPS, KeyframeInterval: 1000})
	}
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	f := codec.NewFrame(testW, testH)
	out := make([]sample, 0, n)
	for i := range n {
		if i > 0 && i%testKeyEvery == 0 {
			enc.ForceKeyframe()
		}
		codectest.MovingPicture(f, i)
		pkt, err := enc.Encode(f)
		if err != nil {
			return nil, err
		}
		if len(pkt.Data) == 0 {
			continue
		}
		out = append(out, sample{video: true, data: bytes.Clone(pkt.Data), key: pkt.Keyframe, pts: time.Duration(i) * time.Second / testFPS})
	}
	return out, nil
}

func encodeOpus(n int) ([]sample, error) {
	enc, err := opus.NewEncoder(opus.EncoderConfig{})
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	pcm := make([]int16, enc.FrameSamples())
	buf := make([]byte, opus.MaxPacketBytes)
	pos := 0
	out := make([]sample, 0, n)
	for i := range n {
		pos = codectest.Tone(pcm, 1, 48000, 440, 0.3, pos)
		m, err := enc.Encode(pcm, buf)
		if err != nil {
			return nil, err
		}
		out = append(out, sample{data: bytes.Clone(buf[:m]), key: true, pts: time.Duration(i) * testPacketDur})
	}
	return out, nil
}

// interleave merges video and audio in pts order, audio first on ties:
// the order a room's tick hands them over.
func interleave(video, audio []sample) []sample {
	out := make([]sample, 0, len(video)+len(audio))
	i, j := 0, 0
	for i < len(video) || j < len(audio) {
		if j < len(audio) && (i == len(video) || audio[j].pts <= video[i].pts) {
			out = append(out, audio[j])
			j++
		} else {
			out = append(out, video[i])
			i++
		}
	}
	return out
}

// until keeps the samples before d.
func until(s []sample, d time.Duration) []sample {
	for i, x := range s {
		if x.pts >= d {
			return s[:i]
		}
	}
	return s
}

func writeAll(t testing.TB, w Writer, s []sample) {
	t.Helper()
	for _, x := range s {
		var err error
		if x.video {
			err = w.WriteVideo(x.data, x.key, x.pts)
		} else {
			err = w.WriteAudio(x.data, x.pts)
		}
		if err != nil {
			t.Fatalf("write at %v: %v", x.pts, err)
		}
	}
}

// memFile is an in-memory io.WriteSeeker (and io.WriterAt).
type memFile struct {
	b   []byte
	off int64
}

func (m *memFile) Write(p []byte) (int, error) {
	n, err := m.WriteAt(p, m.off)
	m.off += int64(n)
	return n, err
}

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if end := int(off) + len(p); end > len(m.b) {
		m.b = append(m.b, make([]byte, end-len(m.b))...)
	}
	return copy(m.b[off:], p), nil
}

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += m.off
	case io.SeekEnd:
		off += int64(len(m.b))
	}
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	m.off = off
	return off, nil
}

// seqFile is a writer that cannot seek, like a pipe.
type seqFile struct{ bytes.Buffer }

func (s *seqFile) Seek(int64, int) (int64, error) { return 0, errors.New("illegal seek") }
