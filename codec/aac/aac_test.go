package aac

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
)

const (
	rate  = 48000
	chunk = 960 // 20 ms, what the room hands over
)

// needFFmpeg skips the test without ffmpeg, unless TESSERA_E2E=1 makes its
// absence a failure.
func needFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("TESSERA_E2E") == "1" {
			t.Fatalf("ffmpeg not found and TESSERA_E2E=1: %v", err)
		}
		t.Skipf("ffmpeg not installed (apt-get install ffmpeg); set TESSERA_E2E=1 to make this a failure")
	}
}

func mustEncoder(t testing.TB, cfg EncoderConfig) *Encoder {
	t.Helper()
	e, err := NewEncoder(cfg)
	if err != nil {
		t.Fatalf("NewEncoder(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// encodeAll feeds pcm in chunks of step samples per channel, with the pts
// of each chunk's first sample, flushes, and returns copies of every frame.
func encodeAll(t testing.TB, e *Encoder, pcm []int16, step int) []Frame {
	t.Helper()
	ch := e.Config().Channels
	var out []Frame
	keep := func(fs []Frame) {
		for _, f := range fs {
			out = append(out, Frame{Data: bytes.Clone(f.Data), PTS: f.PTS})
		}
	}
	for i := 0; i < len(pcm)/ch; i += step {
		end := min(i+step, len(pcm)/ch)
		fs, err := e.Encode(pcm[i*ch:end*ch], time.Duration(i)*time.Second/rate)
		if err != nil {
			t.Fatalf("Encode at sample %d: %v", i, err)
		}
		keep(fs)
	}
	fs, err := e.Flush()
	if err != nil {
		t.Fatalf("Flush: %v", err)
	}
	keep(fs)
	return out
}

// decodeWithFFmpeg writes frames as an ADTS file and decodes it with
// ffmpeg into interleaved 48 kHz PCM with the stream's channel count.
func decodeWithFFmpeg(t *testing.T, e *Encoder, frames []Frame) []int16 {
	t.Helper()
	var adts []byte
	for _, f := range frames {
		var err error
		if adts, err = e.AppendADTS(adts, f.Data); err != nil {
			t.Fatalf("AppendADTS: %v", err)
		}
	}
	path := filepath.Join(t.TempDir(), "x.aac")
	if err := os.WriteFile(path, adts, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "s16le", "-ar", "48000", "-")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("ffmpeg complained about the ADTS stream:\n%s", stderr.String())
	}
	b := stdout.Bytes()
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
	}
	return pcm
}

func TestToneSurvivesFFmpegDecode(t *testing.T) {
	needFFmpeg(t)
	const seconds = 4
	e := mustEncoder(t, EncoderConfig{})
	pcm := make([]int16, seconds*rate)
	codectest.Tone(pcm, 1, rate, 1000, 0.5, 0)
	frames := encodeAll(t, e, pcm, chunk)

	// Every input sample is in a frame, and the first frame is the
	// priming one, a frame's length ahead of the input.
	if want := (len(pcm)+FrameSamples-1)/FrameSamples + 1; len(frames) != want {
		t.Errorf("%d frames for %d samples, want %d", len(frames), len(pcm), want)
	}
	if d := e.Delay(); d != FrameSamples*time.Second/rate {
		t.Errorf("Delay = %v, want one frame (%v)", d, FrameSamples*time.Second/rate)
	}
	for k, f := range frames {
		want := time.Duration(k*FrameSamples)*time.Second/rate - e.Delay()
		if d := f.PTS - want; d < -time.Microsecond || d > time.Microsecond {
			t.Fatalf("frame %d PTS %v, want %v", k, f.PTS, want)
		}
	}

	out := decodeWithFFmpeg(t, e, frames)
	// The decoder plays the priming frame too, and the last frame is
	// padded to 1024 samples.
	got := time.Duration(len(out)) * time.Second / rate
	if lo, hi := seconds*time.Second, seconds*time.Second+2*FrameSamples*time.Second/rate; got < lo || got > hi {
		t.Errorf("decoded %v of audio, want %v..%v", got, lo, hi)
	}
	body := out[FrameSamples : len(out)-FrameSamples]
	tone := codectest.MedianLevel(body, rate, 1000, 4800)
	if db := codectest.DB(tone / 0.5); math.Abs(db) > 1 {
		t.Errorf("1 kHz tone decoded at %.3f (%.2f dB from the input's 0.5)", tone, db)
	}
	for _, f := range []float64{440, 3000, 5000} {
		if other := codectest.MedianLevel(body, rate, f, 4800); other > tone/300 {
			t.Errorf("%v Hz at %.5f next to the tone's %.3f: the encoder added noise or distortion", f, other, tone)
		}
	}
}

func TestStereoKeepsChannelsApart(t *testing.T) {
	needFFmpeg(t)
	e := mustEncoder(t, EncoderConfig{Channels: 2, Bitrate: 192000})
	pcm := make([]int16, 2*rate*2)
	for i := 0; i < len(pcm)/2; i++ {
		pcm[2*i] = int16(0.4 * 32767 * math.Sin(2*math.Pi*1000*float64(i)/rate))
		pcm[2*i+1] = int16(0.4 * 32767 * math.Sin(2*math.Pi*2500*float64(i)/rate))
	}
	out := decodeWithFFmpeg(t, e, encodeAll(t, e, pcm, chunk))
	left, right := codectest.Channel(out, 2, 0), codectest.Channel(out, 2, 1)
	for _, c := range []struct {
		name      string
		pcm       []int16
		own, leak float64
	}{{"left", left, 1000, 2500}, {"right", right, 2500, 1000}} {
		own := codectest.MedianLevel(c.pcm, rate, c.own, 4800)
		leak := codectest.MedianLevel(c.pcm, rate, c.leak, 4800)
		if own < 0.35 || leak > own/100 {
			t.Errorf("%s channel: own tone %.3f, the other's %.5f", c.name, own, leak)
		}
	}
}

// noise is n samples of uniform white noise at a quarter of full scale:
// it has no structure to exploit, so the encoder spends its whole budget.
func noise(n int) []int16 {
	r := rand.New(rand.NewPCG(1, 2))
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(r.IntN(16384) - 8192)
	}
	return pcm
}

func TestBitrateFollowsTarget(t *testing.T) {
	const seconds = 10
	pcm := noise(seconds * rate)
	for _, bps := range []int{64000, 128000} {
		e := mustEncoder(t, EncoderConfig{Bitrate: bps})
		total := 0
		for _, f := range encodeAll(t, e, pcm, chunk) {
			total += len(f.Data)
		}
		got := float64(total*8) / seconds
		if r := got / float64(bps); r < 0.85 || r > 1.15 {
			t.Errorf("target %d bit/s: %.0f bit/s (%.0f%% of it)", bps, got, 100*r)
		}
	}
}

func TestChunkSizeDoesNotMatter(t *testing.T) {
	pcm := make([]int16, rate)
	codectest.Tone(pcm, 1, rate, 700, 0.3, 0)
	ref := encodeAll(t, mustEncoder(t, EncoderConfig{}), pcm, chunk)
	for _, step := range []int{1, 441, FrameSamples, 5000} {
		got := encodeAll(t, mustEncoder(t, EncoderConfig{}), pcm, step)
		if len(got) != len(ref) {
			t.Fatalf("chunks of %d: %d frames, want %d", step, len(got), len(ref))
		}
		for i := range got {
			if !bytes.Equal(got[i].Data, ref[i].Data) || got[i].PTS != ref[i].PTS {
				t.Fatalf("chunks of %d: frame %d differs from the one encoded in 20 ms chunks", step, i)
			}
		}
	}
}

func TestPTSFollowsInputClock(t *testing.T) {
	e := mustEncoder(t, EncoderConfig{})
	pcm := make([]int16, FrameSamples)
	base := 7 * time.Second
	var pts []time.Duration
	feed := func(at time.Duration) {
		fs, err := e.Encode(pcm, at)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			pts = append(pts, f.PTS)
		}
	}
	frameDur := FrameSamples * time.Second / rate
	feed(base)
	feed(base + frameDur)
	// The input jumps by a second (audio was lost upstream): the frames
	// after the gap carry the later clock.
	feed(base + 2*frameDur + time.Second)
	feed(base + 3*frameDur + time.Second)
	fs, err := e.Flush()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		pts = append(pts, f.PTS)
	}
	// Frame k of the output holds input frame k-1; the first is the
	// priming frame.
	want := []time.Duration{base - frameDur, base, base + frameDur,
		base + 2*frameDur + time.Second, base + 3*frameDur + time.Second}
	if len(pts) != len(want) {
		t.Fatalf("PTS %v, want %v", pts, want)
	}
	for i := range want {
		if d := pts[i] - want[i]; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("frame %d PTS %v, want %v", i, pts[i], want[i])
		}
	}
}

func TestBadInputIsAnError(t *testing.T) {
	mono := mustEncoder(t, EncoderConfig{})
	if _, err := mono.Encode(nil, 0); !errors.Is(err, codec.ErrFrameSize) {
		t.Errorf("empty PCM: %v, want ErrFrameSize", err)
	}
	if _, err := mono.Encode(make([]int16, 3), 0); err != nil {
		t.Errorf("three mono samples: %v", err)
	}
	stereo := mustEncoder(t, EncoderConfig{Channels: 2})
	if _, err := stereo.Encode(make([]int16, 961), 0); !errors.Is(err, codec.ErrFrameSize) {
		t.Errorf("odd stereo sample count: %v, want ErrFrameSize", err)
	}
	if _, err := stereo.Encode(make([]int16, 1920), 0); err != nil {
		t.Errorf("the encoder did not survive bad input: %v", err)
	}

	if _, err := mono.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := mono.Encode(make([]int16, chunk), 0); !errors.Is(err, codec.ErrClosed) {
		t.Errorf("Encode after Flush: %v, want ErrClosed", err)
	}
	stereo.Close()
	stereo.Close()
	if _, err := stereo.Encode(make([]int16, 1920), 0); !errors.Is(err, codec.ErrClosed) {
		t.Errorf("Encode after Close: %v, want ErrClosed", err)
	}
	if _, err := stereo.Flush(); !errors.Is(err, codec.ErrClosed) {
		t.Errorf("Flush after Close: %v, want ErrClosed", err)
	}

	for _, cfg := range []EncoderConfig{
		{SampleRate: 47999},
		{Channels: 3},
		{Channels: -1},
		{Bitrate: 8000},
		{Bitrate: 300000},
		{Channels: 2, Bitrate: 600000},
	} {
		if e, err := NewEncoder(cfg); !errors.Is(err, codec.ErrInvalidConfig) {
			if e != nil {
				e.Close()
			}
			t.Errorf("NewEncoder(%+v): %v, want ErrInvalidConfig", cfg, err)
		}
	}
}

func TestAudioSpecificConfig(t *testing.T) {
	for _, c := range []struct {
		rate, ch int
		want     []byte
	}{
		{48000, 1, []byte{0x11, 0x88}},
		{44100, 2, []byte{0x12, 0x10}},
	} {
		got, err := AudioSpecificConfig(c.rate, c.ch)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("AudioSpecificConfig(%d, %d) = %x, %v; want %x", c.rate, c.ch, got, err, c.want)
		}
	}
	e := mustEncoder(t, EncoderConfig{Channels: 2, SampleRate: 44100})
	if got := e.AudioSpecificConfig(); !bytes.HasPrefix(got, []byte{0x12, 0x10}) {
		t.Errorf("encoder's AudioSpecificConfig %x", got)
	}
	if _, err := AudioSpecificConfig(12345, 1); !errors.Is(err, codec.ErrInvalidConfig) {
		t.Errorf("odd rate: %v", err)
	}
}

func TestADTSHeader(t *testing.T) {
	frame := bytes.Repeat([]byte{0xab}, 300)
	out, err := AppendADTS([]byte{1, 2}, 48000, 1, frame)
	if err != nil {
		t.Fatal(err)
	}
	h := out[2 : 2+ADTSHeaderSize]
	bits := func(from, n int) int { // big-endian bit field of h
		v := 0
		for i := from; i < from+n; i++ {
			v = v<<1 | int(h[i/8]>>(7-i%8)&1)
		}
		return v
	}
	for _, f := range []struct {
		name          string
		from, n, want int
	}{
		{"syncword", 0, 12, 0xfff},
		{"ID (MPEG-4)", 12, 1, 0},
		{"layer", 13, 2, 0},
		{"protection_absent", 15, 1, 1},
		{"profile (LC)", 16, 2, 1},
		{"sampling_frequency_index", 18, 4, 3},
		{"channel_configuration", 23, 3, 1},
		{"frame_length", 30, 13, len(frame) + ADTSHeaderSize},
		{"buffer_fullness", 43, 11, 0x7ff},
		{"raw_data_blocks - 1", 54, 2, 0},
	} {
		if got := bits(f.from, f.n); got != f.want {
			t.Errorf("%s = %#x, want %#x", f.name, got, f.want)
		}
	}
	if !bytes.Equal(out[2+ADTSHeaderSize:], frame) {
		t.Error("the frame does not follow the header")
	}
	if _, err := AppendADTS(nil, 48000, 1, nil); !errors.Is(err, codec.ErrFrameSize) {
		t.Errorf("empty frame: %v", err)
	}
	if _, err := AppendADTS(nil, 48000, 1, make([]byte, 9000)); !errors.Is(err, codec.ErrFrameSize) {
		t.Errorf("frame over 8191 bytes: %v", err)
	}
	if _, err := AppendADTS(nil, 1000, 1, frame); !errors.Is(err, codec.ErrInvalidConfig) {
		t.Errorf("odd rate: %v", err)
	}
}
