package vp8

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
)

func newEncoder(tb testing.TB, cfg EncoderConfig) *Encoder {
	tb.Helper()
	e, err := NewEncoder(cfg)
	if err != nil {
		tb.Fatalf("NewEncoder(%+v): %v", cfg, err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

func newDecoder(tb testing.TB, pool *codec.FramePool) *Decoder {
	tb.Helper()
	d, err := NewDecoder(pool)
	if err != nil {
		tb.Fatalf("NewDecoder: %v", err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// noisyPicture is MovingPicture with film-grain-like noise of +-amp on every
// sample, fresh for each frame. Noise cannot be predicted from the previous
// picture, so the encoder always has residual to spend bits on and CBR can
// reach its target instead of idling at the lowest quantizer.
func noisyPicture(f *codec.Frame, n, amp int) {
	codectest.MovingPicture(f, n)
	s := uint64(n)*0x9e3779b97f4a7c15 | 1
	span := uint64(2*amp + 1)
	for i, v := range f.Bytes() {
		s ^= s << 13
		s ^= s >> 7
		s ^= s << 17
		f.Bytes()[i] = uint8(min(max(int(v)+int(s%span)-amp, 0), 255))
	}
}

// encodeSequence encodes n MovingPicture frames and returns copies of the
// packets.
func encodeSequence(tb testing.TB, cfg EncoderConfig, n int) [][]byte {
	tb.Helper()
	e := newEncoder(tb, cfg)
	defer e.Close()
	src := codec.NewFrame(cfg.Width, cfg.Height)
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		codectest.MovingPicture(src, i)
		pkt, err := e.Encode(src)
		if err != nil {
			tb.Fatalf("Encode frame %d: %v", i, err)
		}
		if len(pkt.Data) == 0 {
			tb.Fatalf("Encode frame %d: no output", i)
		}
		if got, want := pkt.Keyframe, i == 0; got != want {
			tb.Fatalf("frame %d: Keyframe = %v, want %v", i, got, want)
		}
		out = append(out, append([]byte(nil), pkt.Data...))
	}
	return out
}

func TestDefaultBitrate(t *testing.T) {
	for _, c := range []struct{ w, h, lo, hi int }{
		{640, 360, 600_000, 800_000},
		{1280, 720, 1_400_000, 1_600_000},
		{1920, 1080, 1_800_000, 3_000_000},
		{64, 48, 50_000, 100_000},
	} {
		if got := DefaultBitrate(c.w, c.h); got < c.lo || got > c.hi {
			t.Errorf("DefaultBitrate(%d, %d) = %d, want %d..%d", c.w, c.h, got, c.lo, c.hi)
		}
	}
	if got := DefaultBitrate(0, 360); got != 0 {
		t.Errorf("DefaultBitrate(0, 360) = %d, want 0", got)
	}
}

func TestEncoderConfig(t *testing.T) {
	e := newEncoder(t, EncoderConfig{Width: 640, Height: 360})
	want := EncoderConfig{Width: 640, Height: 360, FPS: 30, Bitrate: DefaultBitrate(640, 360),
		CPUUsed: DefaultCPUUsed, KeyframeInterval: 300}
	if got := e.Config(); got != want {
		t.Errorf("Config() = %+v, want %+v", got, want)
	}
	if got := e.Bitrate(); got != want.Bitrate {
		t.Errorf("Bitrate() = %d, want %d", got, want.Bitrate)
	}

	for _, cfg := range []EncoderConfig{
		{},
		{Width: 0, Height: 360},
		{Width: 640, Height: -1},
		{Width: MaxDimension + 1, Height: 360},
		{Width: 640, Height: 360, FPS: -1},
		{Width: 640, Height: 360, FPS: MaxFPS + 1},
		{Width: 640, Height: 360, Bitrate: -5},
		{Width: 640, Height: 360, Bitrate: MinBitrate - 1},
		{Width: 640, Height: 360, Bitrate: MaxBitrate + 1},
		{Width: 640, Height: 360, CPUUsed: 17},
		{Width: 640, Height: 360, CPUUsed: -17},
		{Width: 640, Height: 360, KeyframeInterval: -1},
	} {
		e, err := NewEncoder(cfg)
		if !errors.Is(err, codec.ErrInvalidConfig) {
			if e != nil {
				e.Close()
			}
			t.Errorf("NewEncoder(%+v) error = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}

func TestEncoderErrors(t *testing.T) {
	e := newEncoder(t, EncoderConfig{Width: 64, Height: 48})
	for _, f := range []*codec.Frame{nil, codec.NewFrame(64, 50), codec.NewFrame(62, 48), {Width: 64, Height: 48}} {
		if _, err := e.Encode(f); !errors.Is(err, codec.ErrFrameSize) {
			t.Errorf("Encode(bad frame) error = %v, want ErrFrameSize", err)
		}
	}
	if err := e.SetBitrate(1); !errors.Is(err, codec.ErrInvalidConfig) {
		t.Errorf("SetBitrate(1) error = %v, want ErrInvalidConfig", err)
	}
	if _, err := e.Encode(codec.NewFrame(64, 48)); err != nil {
		t.Fatalf("Encode after rejected calls: %v", err)
	}

	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := e.Encode(codec.NewFrame(64, 48)); !errors.Is(err, codec.ErrClosed) {
		t.Errorf("Encode after Close error = %v, want ErrClosed", err)
	}
	if err := e.SetBitrate(100_000); !errors.Is(err, codec.ErrClosed) {
		t.Errorf("SetBitrate after Close error = %v, want ErrClosed", err)
	}
	e.ForceKeyframe() // must not crash
}

// TestRoundTrip checks picture quality at the default real-time bitrate,
// and that the decoder copies planes correctly whatever libvpx's strides.
func TestRoundTrip(t *testing.T) {
	for _, c := range []struct {
		w, h, frames int
		minPSNR      float64
	}{
		{640, 360, 90, 32},
		{65, 49, 10, 30}, // odd size: chroma planes round up
	} {
		t.Run(fmt.Sprintf("%dx%d", c.w, c.h), func(t *testing.T) {
			cfg := EncoderConfig{Width: c.w, Height: c.h, FPS: 30}
			if c.w < 100 {
				cfg.Bitrate = 300_000
			}
			pkts := encodeSequence(t, cfg, c.frames)
			d := newDecoder(t, nil)
			src := codec.NewFrame(c.w, c.h)
			var sum, worst float64 = 0, math.Inf(1)
			var bytes int
			for i, p := range pkts {
				bytes += len(p)
				f, err := d.Decode(p)
				if err != nil || f == nil {
					t.Fatalf("Decode frame %d: %v, %v", i, f, err)
				}
				if f.Width != c.w || f.Height != c.h {
					t.Fatalf("frame %d is %dx%d, want %dx%d", i, f.Width, f.Height, c.w, c.h)
				}
				codectest.MovingPicture(src, i)
				p := codectest.PSNR(src, f)
				f.Release()
				sum += p
				worst = min(worst, p)
			}
			avg := sum / float64(len(pkts))
			t.Logf("%dx%d: average PSNR %.2f dB, worst %.2f dB, %.0f kbit/s",
				c.w, c.h, avg, worst, float64(bytes)*8*30/float64(len(pkts))/1000)
			if avg < c.minPSNR {
				t.Errorf("average PSNR %.2f dB, want >= %.0f", avg, c.minPSNR)
			}
		})
	}
}

func TestForceKeyframe(t *testing.T) {
	e := newEncoder(t, EncoderConfig{Width: 320, Height: 180})
	d := newDecoder(t, nil)
	src := codec.NewFrame(320, 180)
	n := 0
	encode := func() codec.VideoPacket {
		t.Helper()
		codectest.MovingPicture(src, n)
		n++
		pkt, err := e.Encode(src)
		if err != nil || len(pkt.Data) == 0 {
			t.Fatalf("Encode frame %d: %d bytes, %v", n-1, len(pkt.Data), err)
		}
		f, err := d.Decode(pkt.Data)
		if err != nil || f == nil {
			t.Fatalf("Decode frame %d: %v, %v", n-1, f, err)
		}
		f.Release()
		return pkt
	}
	if !encode().Keyframe {
		t.Fatal("first frame is not a keyframe")
	}
	for round := 0; round < 3; round++ {
		for i := 0; i < 5; i++ {
			if encode().Keyframe {
				t.Fatalf("round %d: frame %d is an unrequested keyframe", round, n-1)
			}
		}
		e.ForceKeyframe()
		e.ForceKeyframe() // requests do not queue up
		if !encode().Keyframe {
			t.Fatalf("round %d: frame %d after ForceKeyframe is not a keyframe", round, n-1)
		}
		if encode().Keyframe {
			t.Fatalf("round %d: frame %d, the second after ForceKeyframe, is a keyframe", round, n-1)
		}
	}
}

func TestKeyframeInterval(t *testing.T) {
	e := newEncoder(t, EncoderConfig{Width: 160, Height: 96, KeyframeInterval: 10})
	src := codec.NewFrame(160, 96)
	var keys []int
	for i := 0; i < 25; i++ {
		codectest.MovingPicture(src, i)
		pkt, err := e.Encode(src)
		if err != nil {
			t.Fatal(err)
		}
		if pkt.Keyframe {
			keys = append(keys, i)
		}
	}
	if fmt.Sprint(keys) != "[0 10 20]" {
		t.Errorf("keyframes at %v, want [0 10 20]", keys)
	}
}

// TestBitrate runs 10 s at the default target, then 10 s at half of it,
// then 10 s at twice the default. The first second after each change is
// left out of the measurement: the encoder spends it moving its buffer level
// to the new rate.
func TestBitrate(t *testing.T) {
	const w, h, fps = 640, 360, 30
	const seconds, settle = 10, 1
	first := DefaultBitrate(w, h)
	second := first / 2
	third := first * 2
	e := newEncoder(t, EncoderConfig{Width: w, Height: h, FPS: fps})
	src := codec.NewFrame(w, h)
	n := 0
	run := func(frames int) (bps float64) {
		var bytes int
		for i := 0; i < frames; i++ {
			noisyPicture(src, n, 6)
			n++
			pkt, err := e.Encode(src)
			if err != nil {
				t.Fatalf("Encode frame %d: %v", n-1, err)
			}
			bytes += len(pkt.Data)
		}
		return float64(bytes) * 8 * fps / float64(frames)
	}
	check := func(phase string, got float64, target int) {
		t.Helper()
		dev := (got - float64(target)) / float64(target)
		t.Logf("%s: target %d kbit/s, achieved %.0f kbit/s (%+.1f%%)", phase, target/1000, got/1000, dev*100)
		if math.Abs(dev) > 0.15 {
			t.Errorf("%s: achieved %.0f bit/s, want %d +-15%%", phase, got, target)
		}
	}

	check("initial", run(seconds*fps), first)
	if err := e.SetBitrate(second); err != nil {
		t.Fatal(err)
	}
	if got := e.Bitrate(); got != second {
		t.Errorf("Bitrate() = %d after SetBitrate(%d)", got, second)
	}
	run(settle * fps)
	check("halved", run(seconds*fps), second)

	if err := e.SetBitrate(third); err != nil {
		t.Fatal(err)
	}
	run(settle * fps)
	check("doubled", run(seconds*fps), third)
}

func TestDecodeErrors(t *testing.T) {
	pkts := encodeSequence(t, EncoderConfig{Width: 320, Height: 180}, 2)
	key := pkts[0]
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}

	cases := map[string][]byte{
		"empty":        {},
		"nil":          nil,
		"one byte":     {0x10},
		"tag only":     key[:3],
		"header only":  key[:10],
		"delta first":  pkts[1],
		"huge picture": append(append([]byte(nil), key[:6]...), 0xff, 0x3f, 0xff, 0x3f, 0, 0, 0, 0),
	}
	for _, frac := range []int{10, 25, 50, 75, 90} {
		cases[fmt.Sprintf("keyframe cut to %d%%", frac)] = key[:len(key)*frac/100]
	}
	for i, n := range []int{1, 2, 5, 10, 100, 1000, 5000} {
		cases[fmt.Sprintf("random %d: %d bytes", i, n)] = random(n)
	}
	for name, data := range cases {
		d := newDecoder(t, nil)
		f, err := d.Decode(data)
		if f != nil {
			f.Release()
		}
		if !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("%s: Decode error = %v, want ErrCorrupt", name, err)
		}
	}

	d := newDecoder(t, nil)
	d.Close()
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := d.Decode(key); !errors.Is(err, codec.ErrClosed) {
		t.Errorf("Decode after Close error = %v, want ErrClosed", err)
	}
}

// TestDecodeRecovers feeds a decoder damaged frames mid-stream: the damage
// is reported, pictures predicted from the damaged one are refused, and the
// next keyframe brings the stream back.
func TestDecodeRecovers(t *testing.T) {
	const w, h = 320, 180
	e := newEncoder(t, EncoderConfig{Width: w, Height: h})
	d := newDecoder(t, nil)
	src := codec.NewFrame(w, h)
	n := 0
	next := func() codec.VideoPacket {
		codectest.MovingPicture(src, n)
		n++
		pkt, err := e.Encode(src)
		if err != nil {
			t.Fatal(err)
		}
		return pkt
	}
	decodeOK := func(data []byte) {
		t.Helper()
		f, err := d.Decode(data)
		if err != nil || f == nil {
			t.Fatalf("frame %d: Decode = %v, %v; want a picture", n-1, f, err)
		}
		defer f.Release()
		if p := codectest.PSNR(src, f); p < 30 {
			t.Fatalf("frame %d: PSNR %.1f dB after recovery", n-1, p)
		}
	}
	decodeBad := func(data []byte) {
		t.Helper()
		f, err := d.Decode(data)
		if f != nil {
			f.Release()
		}
		if !errors.Is(err, codec.ErrCorrupt) {
			t.Fatalf("frame %d: Decode error = %v, want ErrCorrupt", n-1, err)
		}
	}

	// A truncated keyframe on a fresh decoder, then a good one.
	key := next()
	decodeBad(key.Data[:len(key.Data)/2])
	e.ForceKeyframe()
	decodeOK(next().Data)
	for i := 0; i < 3; i++ {
		decodeOK(next().Data)
	}

	// A truncated delta frame, a delta that predicts from it, a keyframe.
	delta := next()
	decodeBad(delta.Data[:len(delta.Data)/3])
	decodeBad(next().Data)
	e.ForceKeyframe()
	decodeOK(next().Data)
	decodeOK(next().Data)
}

// TestDecodeHiddenFrame decodes a frame whose show_frame bit (RFC 6386
// section 9.1) is clear: it updates the references but yields no picture.
func TestDecodeHiddenFrame(t *testing.T) {
	pkts := encodeSequence(t, EncoderConfig{Width: 160, Height: 96}, 3)
	d := newDecoder(t, nil)
	f, err := d.Decode(pkts[0])
	if err != nil || f == nil {
		t.Fatalf("keyframe: Decode = %v, %v", f, err)
	}
	f.Release()
	hidden := append([]byte(nil), pkts[1]...)
	hidden[0] &^= 0x10
	if f, err := d.Decode(hidden); f != nil || err != nil {
		t.Fatalf("hidden frame: Decode = %v, %v; want nil, nil", f, err)
	}
	if f, err := d.Decode(pkts[2]); err != nil || f == nil {
		t.Fatalf("frame after hidden one: Decode = %v, %v", f, err)
	} else {
		f.Release()
	}
}

// TestDecodeResize switches resolution at keyframes, as a sender adapting
// its simulcast layer or capture size does.
func TestDecodeResize(t *testing.T) {
	pool := codec.NewFramePool(4)
	d := newDecoder(t, pool)
	for _, size := range [][2]int{{320, 180}, {640, 360}, {176, 144}, {320, 180}} {
		w, h := size[0], size[1]
		pkts := encodeSequence(t, EncoderConfig{Width: w, Height: h}, 4)
		src := codec.NewFrame(w, h)
		for i, p := range pkts {
			f, err := d.Decode(p)
			if err != nil || f == nil {
				t.Fatalf("%dx%d frame %d: Decode = %v, %v", w, h, i, f, err)
			}
			if f.Width != w || f.Height != h {
				t.Fatalf("%dx%d frame %d: decoded %dx%d", w, h, i, f.Width, f.Height)
			}
			codectest.MovingPicture(src, i)
			if p := codectest.PSNR(src, f); p < 30 {
				t.Errorf("%dx%d frame %d: PSNR %.1f dB", w, h, i, p)
			}
			f.Release()
		}
	}
}

func TestAllocations(t *testing.T) {
	const w, h = 320, 180
	frames := make([]*codec.Frame, 8)
	for i := range frames {
		frames[i] = codec.NewFrame(w, h)
		codectest.MovingPicture(frames[i], i)
	}

	t.Run("Encode", func(t *testing.T) {
		e := newEncoder(t, EncoderConfig{Width: w, Height: h})
		n := 0
		encode := func() {
			if _, err := e.Encode(frames[n%len(frames)]); err != nil {
				t.Fatal(err)
			}
			n++
		}
		for i := 0; i < 10; i++ { // the first picture, a keyframe, sizes the output buffer
			encode()
		}
		if a := testing.AllocsPerRun(100, encode); a != 0 {
			t.Errorf("Encode: %.1f allocations per frame, want 0", a)
		}
	})

	t.Run("Decode", func(t *testing.T) {
		pkts := encodeSequence(t, EncoderConfig{Width: w, Height: h}, 40)
		pool := codec.NewFramePool(2)
		d := newDecoder(t, pool)
		n := 0
		decode := func() {
			f, err := d.Decode(pkts[n%len(pkts)])
			if err != nil || f == nil {
				t.Fatalf("Decode frame %d: %v, %v", n, f, err)
			}
			f.Release()
			n++
		}
		decode()
		if a := testing.AllocsPerRun(100, decode); a != 0 {
			t.Errorf("Decode+Release: %.1f allocations per frame, want 0", a)
		}
		if pool.Allocs() != 1 {
			t.Errorf("pool allocated %d frames, want 1", pool.Allocs())
		}
	})
}

var benchSizes = []struct {
	name string
	w, h int
}{{"640x360", 640, 360}, {"1280x720", 1280, 720}}

// benchFrames is a short MovingPicture clip played forwards then backwards,
// so cycling through it never jumps.
func benchFrames(w, h, n int) []*codec.Frame {
	var out []*codec.Frame
	for i := 0; i < n; i++ {
		f := codec.NewFrame(w, h)
		codectest.MovingPicture(f, i)
		out = append(out, f)
	}
	for i := n - 2; i > 0; i-- {
		out = append(out, out[i])
	}
	return out
}

func BenchmarkEncode(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			frames := benchFrames(s.w, s.h, 16)
			e := newEncoder(b, EncoderConfig{Width: s.w, Height: s.h})
			var bytes int
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pkt, err := e.Encode(frames[i%len(frames)])
				if err != nil {
					b.Fatal(err)
				}
				bytes += len(pkt.Data)
			}
			b.ReportMetric(float64(bytes)/float64(b.N), "B/frame")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			// One second of video starting with a keyframe, so the loop
			// can wrap around.
			pkts := encodeSequence(b, EncoderConfig{Width: s.w, Height: s.h}, 30)
			d := newDecoder(b, codec.NewFramePool(2))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f, err := d.Decode(pkts[i%len(pkts)])
				if err != nil || f == nil {
					b.Fatalf("Decode: %v, %v", f, err)
				}
				f.Release()
			}
		})
	}
}
