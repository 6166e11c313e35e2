package opus

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
)

const (
	rate  = 48000
	frame = 960 // 20 ms at 48 kHz
)

// level is the amplitude (0..1 of full scale) of the freq Hz component of
// samples, correlating with the exact frequency rather than the nearest DFT
// bin. Good for short windows that hold a non-integer number of periods.
func level(samples []int16, freq float64) float64 {
	var re, im float64
	w := 2 * math.Pi * freq / rate
	for i, s := range samples {
		x := float64(s) / 32768
		re += x * math.Cos(w*float64(i))
		im += x * math.Sin(w*float64(i))
	}
	return 2 * math.Hypot(re, im) / float64(len(samples))
}

// toneSignal is n samples per channel of interleaved PCM with freqs[c] Hz
// at amplitude amp on channel c.
func toneSignal(n int, amp float64, freqs ...float64) []int16 {
	ch := len(freqs)
	pcm := make([]int16, n*ch)
	for i := 0; i < n; i++ {
		for c, f := range freqs {
			pcm[i*ch+c] = int16(amp * 32767 * math.Sin(2*math.Pi*f*float64(i)/rate))
		}
	}
	return pcm
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

func mustDecoder(t testing.TB, r, ch int) *Decoder {
	t.Helper()
	d, err := NewDecoder(r, ch)
	if err != nil {
		t.Fatalf("NewDecoder(%d, %d): %v", r, ch, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// encodeAll encodes pcm frame by frame and returns the packets.
func encodeAll(t testing.TB, e *Encoder, pcm []int16) [][]byte {
	t.Helper()
	step := e.FrameSamples() * e.Channels()
	var pkts [][]byte
	buf := make([]byte, MaxPacketBytes)
	for off := 0; off+step <= len(pcm); off += step {
		n, err := e.Encode(pcm[off:off+step], buf)
		if err != nil {
			t.Fatalf("Encode frame %d: %v", off/step, err)
		}
		pkts = append(pkts, append([]byte(nil), buf[:n]...))
	}
	return pkts
}

// decodeAll decodes every packet and concatenates the PCM.
func decodeAll(t testing.TB, d *Decoder, pkts [][]byte) []int16 {
	t.Helper()
	var out []int16
	pcm := make([]int16, MaxFrameSamples*d.Channels())
	for i, p := range pkts {
		n, err := d.Decode(p, pcm)
		if err != nil {
			t.Fatalf("Decode packet %d (%d bytes): %v", i, len(p), err)
		}
		out = append(out, pcm[:n*d.Channels()]...)
	}
	return out
}

// analysis window: skips 100 ms of codec delay and start-up, and spans a
// whole number of periods of every test frequency (multiples of 40 Hz).
const (
	skip   = 4800
	window = 36000
)

func TestToneRoundTripMono(t *testing.T) {
	const amp = 0.5 // -6 dBFS
	e := mustEncoder(t, EncoderConfig{Bitrate: 48000})
	d := mustDecoder(t, rate, 1)
	out := decodeAll(t, d, encodeAll(t, e, toneSignal(rate, amp, 440)))
	if len(out) != rate {
		t.Fatalf("decoded %d samples, want %d", len(out), rate)
	}
	win := out[skip : skip+window]
	got := codectest.Goertzel(win, rate, 440)
	t.Logf("440 Hz: %.2f dBFS (input %.2f dBFS)", codectest.DB(got), codectest.DB(amp))
	if diff := codectest.DB(got / amp); math.Abs(diff) > 1.5 {
		t.Errorf("440 Hz level off by %.2f dB", diff)
	}
	for _, f := range []float64{120, 880, 1000, 1320, 2000, 3000, 5000} {
		other := codectest.Goertzel(win, rate, f)
		if rel := codectest.DB(other / got); rel > -30 {
			t.Errorf("%v Hz only %.1f dB below the tone", f, -rel)
		} else {
			t.Logf("%v Hz: %.1f dB below", f, -rel)
		}
	}
}

func TestToneRoundTripStereo(t *testing.T) {
	const amp = 0.5
	e := mustEncoder(t, EncoderConfig{Channels: 2, Bitrate: 96000})
	d := mustDecoder(t, rate, 2)
	out := decodeAll(t, d, encodeAll(t, e, toneSignal(rate, amp, 440, 1000)))
	tones := []float64{440, 1000}
	for c, f := range tones {
		win := codectest.Channel(out, 2, c)[skip : skip+window]
		got := codectest.Goertzel(win, rate, f)
		other := codectest.Goertzel(win, rate, tones[1-c])
		t.Logf("channel %d: %v Hz at %.2f dBFS, %v Hz %.1f dB below", c, f, codectest.DB(got), tones[1-c], -codectest.DB(other/got))
		if diff := codectest.DB(got / amp); math.Abs(diff) > 1.5 {
			t.Errorf("channel %d: %v Hz level off by %.2f dB", c, f, diff)
		}
		if rel := codectest.DB(other / got); rel > -30 {
			t.Errorf("channel %d: the other channel's %v Hz is only %.1f dB below", c, tones[1-c], -rel)
		}
	}
}

func TestInbandFEC(t *testing.T) {
	const amp = 0.5
	e := mustEncoder(t, EncoderConfig{Bitrate: 32000, InbandFEC: true, PacketLossPercent: 20})
	in := toneSignal(rate, amp, 440)
	pkts := encodeAll(t, e, in)

	const lost = 30
	ref := decodeAll(t, mustDecoder(t, rate, 1), pkts)
	refFrame := ref[lost*frame : (lost+1)*frame]

	// One decoder recovers the lost frame from the next packet's FEC,
	// another conceals it, a third outputs silence.
	fec, plc := mustDecoder(t, rate, 1), mustDecoder(t, rate, 1)
	decodeAll(t, fec, pkts[:lost])
	decodeAll(t, plc, pkts[:lost])
	gotFEC := make([]int16, frame)
	if n, err := fec.RecoverFEC(pkts[lost+1], gotFEC, frame); err != nil || n != frame {
		t.Fatalf("RecoverFEC = %d, %v", n, err)
	}
	gotPLC := make([]int16, frame)
	if _, err := plc.Conceal(gotPLC, frame); err != nil {
		t.Fatal(err)
	}
	// The stream continues normally after recovery.
	rest := decodeAll(t, fec, pkts[lost+1:])
	if l := level(rest[frame:], 440); math.Abs(codectest.DB(l/amp)) > 1.5 {
		t.Errorf("after FEC the stream decodes at %.2f dB", codectest.DB(l/amp))
	}

	want := level(refFrame, 440)
	lf, lp := level(gotFEC, 440), level(gotPLC, 440)
	snr := func(x []int16) float64 {
		var sig, noise float64
		for i := range x {
			r := float64(refFrame[i])
			sig += r * r
			noise += (float64(x[i]) - r) * (float64(x[i]) - r)
		}
		return 10 * math.Log10(sig/noise)
	}
	t.Logf("lost frame 440 Hz: lossless %.2f dBFS, FEC %.2f dBFS (SNR %.1f dB vs lossless), PLC %.2f dBFS (SNR %.1f dB)",
		codectest.DB(want), codectest.DB(lf), snr(gotFEC), codectest.DB(lp), snr(gotPLC))
	if diff := codectest.DB(lf / want); math.Abs(diff) > 2 {
		t.Errorf("FEC frame level off by %.2f dB from the lossless decode", diff)
	}
	if s := snr(gotFEC); s < 6 {
		t.Errorf("FEC frame matches the lossless decode with only %.1f dB SNR", s)
	}
}

func TestConceal(t *testing.T) {
	const amp = 0.5
	e := mustEncoder(t, EncoderConfig{})
	d := mustDecoder(t, rate, 1)
	pkts := encodeAll(t, e, toneSignal(rate/2, amp, 440))
	decodeAll(t, d, pkts)
	pcm := make([]int16, frame)
	for i := 0; i < 3; i++ {
		n, err := d.Conceal(pcm, d.LastSamples())
		if err != nil || n != frame {
			t.Fatalf("Conceal = %d, %v", n, err)
		}
		l := level(pcm, 440)
		t.Logf("concealed frame %d: 440 Hz at %.2f dBFS", i, codectest.DB(l))
		if i == 0 && codectest.DB(l/amp) < -6 {
			t.Errorf("first concealed frame is %.1f dB below the tone", -codectest.DB(l/amp))
		}
	}
	if _, err := d.Conceal(pcm, 100); !errors.Is(err, codec.ErrFrameSize) {
		t.Errorf("Conceal of 100 samples (not a multiple of 2.5 ms): %v", err)
	}
	if _, err := d.Conceal(pcm, 1920); !errors.Is(err, codec.ErrFrameSize) {
		t.Errorf("Conceal of 40 ms into a 20 ms buffer: %v", err)
	}
}

func TestDTX(t *testing.T) {
	e := mustEncoder(t, EncoderConfig{DTX: true})
	pcm := make([]int16, frame)
	buf := make([]byte, MaxPacketBytes)
	d := mustDecoder(t, rate, 1)
	out := make([]int16, MaxFrameSamples)
	var tiny, inDTX, maxAbs int
	sizes := make([]int, 0, 50)
	for i := 0; i < 50; i++ {
		n, err := e.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, n)
		if n <= 2 {
			tiny++
		}
		if e.InDTX() {
			inDTX++
		}
		m, err := d.Decode(buf[:n], out)
		if err != nil {
			t.Fatalf("decode of %d-byte packet %d: %v", n, i, err)
		}
		if m != frame {
			t.Fatalf("decoded %d samples from DTX packet %d, want %d", m, i, frame)
		}
		for _, s := range out[:m] {
			maxAbs = max(maxAbs, abs(int(s)))
		}
	}
	t.Logf("1 s of silence: %d of 50 packets <= 2 bytes, InDTX on %d; sizes %v; decoded peak %d", tiny, inDTX, sizes, maxAbs)
	if tiny < 35 {
		t.Errorf("only %d of 50 packets of silence were DTX-sized", tiny)
	}
	if maxAbs > 64 {
		t.Errorf("decoded silence peaks at %d", maxAbs)
	}
	// Concealing through a DTX gap stays near silence.
	for i := 0; i < 5; i++ {
		if _, err := d.Conceal(out, frame); err != nil {
			t.Fatal(err)
		}
		for _, s := range out[:frame] {
			if abs(int(s)) > 64 {
				t.Fatalf("concealment during DTX reached %d", s)
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// musicLike is n samples of a chord whose notes change every 250 ms, with a
// little noise: content on which VBR has no reason to undershoot.
func musicLike(n int, seed uint64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 1))
	notes := []float64{196, 220, 247, 262, 294, 330, 349, 392, 440, 494, 523, 587, 659, 698, 784}
	pcm := make([]int16, n)
	var chord [3]float64
	for i := range pcm {
		if i%(rate/4) == 0 {
			for k := range chord {
				chord[k] = notes[rng.IntN(len(notes))]
			}
		}
		tm := float64(i) / rate
		var v float64
		for k, f := range chord {
			// fundamental plus two harmonics, like a plucked string
			v += 0.12 * math.Sin(2*math.Pi*f*tm+float64(k))
			v += 0.05 * math.Sin(2*math.Pi*2*f*tm)
			v += 0.02 * math.Sin(2*math.Pi*3*f*tm)
		}
		v += 0.02 * rng.NormFloat64()
		pcm[i] = int16(max(-1, min(1, v)) * 32767)
	}
	return pcm
}

func TestBitrate(t *testing.T) {
	const seconds = 10
	for _, tc := range []struct {
		name         string
		cfg          EncoderConfig
		first, later int
	}{
		{"voip", EncoderConfig{Bitrate: 32000}, 32000, 20000},
		{"audio", EncoderConfig{Application: Audio, Bitrate: 64000}, 64000, 96000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustEncoder(t, tc.cfg)
			measure := func(seed uint64) float64 {
				var bytes int
				for _, p := range encodeAll(t, e, musicLike(seconds*rate, seed)) {
					bytes += len(p)
				}
				return float64(bytes*8) / seconds
			}
			got := measure(1)
			t.Logf("target %d bps: achieved %.0f bps (%+.1f%%)", tc.first, got, 100*(got/float64(tc.first)-1))
			if math.Abs(got/float64(tc.first)-1) > 0.15 {
				t.Errorf("achieved %.0f bps for a %d bps target", got, tc.first)
			}
			if err := e.SetBitrate(tc.later); err != nil {
				t.Fatal(err)
			}
			got = measure(2)
			t.Logf("target %d bps: achieved %.0f bps (%+.1f%%)", tc.later, got, 100*(got/float64(tc.later)-1))
			if math.Abs(got/float64(tc.later)-1) > 0.15 {
				t.Errorf("after SetBitrate: achieved %.0f bps for a %d bps target", got, tc.later)
			}
		})
	}
}

func TestCorruptPayloads(t *testing.T) {
	d := mustDecoder(t, rate, 2)
	pcm := make([]int16, MaxFrameSamples*2)
	for _, p := range [][]byte{
		nil,
		{},
		{0x03},             // code 3 without its frame count byte
		{0x03, 0x00},       // code 3 with zero frames
		{0x01, 0xaa},       // code 1 needs an even number of data bytes
		{0x02, 0xfc},       // code 2: first frame longer than the packet
		{0xfb, 0xff, 0xff}, // code 3, 63 frames of 20 ms: over 120 ms
	} {
		if _, err := d.Decode(p, pcm); !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("Decode(%x) = %v, want ErrCorrupt", p, err)
		}
		if _, err := d.RecoverFEC(p, pcm, frame); !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("RecoverFEC(%x) = %v, want ErrCorrupt", p, err)
		}
	}
	// Random bytes must never crash the decoder; most are rejected, some
	// decode as noise, which is fine.
	rng := rand.New(rand.NewPCG(7, 7))
	var rejected int
	for i := 0; i < 2000; i++ {
		p := make([]byte, 1+rng.IntN(200))
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		if _, err := d.Decode(p, pcm); err != nil {
			if !errors.Is(err, codec.ErrCorrupt) {
				t.Fatalf("Decode(random) = %v, want ErrCorrupt", err)
			}
			rejected++
		}
	}
	t.Logf("%d of 2000 random payloads rejected", rejected)
	// The decoder still works afterwards.
	e := mustEncoder(t, EncoderConfig{Channels: 2, Bitrate: 64000})
	out := decodeAll(t, d, encodeAll(t, e, toneSignal(rate/2, 0.5, 440, 440)))
	if len(out) != rate {
		t.Fatalf("decoded %d samples after garbage", len(out))
	}
}

func TestEncoderConfig(t *testing.T) {
	for _, cfg := range []EncoderConfig{
		{SampleRate: 44100},
		{Channels: 3},
		{Channels: -1},
		{Bitrate: 1000},
		{Bitrate: 600000},
		{FrameDuration: 25 * time.Millisecond},
		{FrameDuration: 140 * time.Millisecond},
		{FrameDuration: 7500 * time.Microsecond},
		{Application: 7},
		{PacketLossPercent: 101},
		{Complexity: 11},
	} {
		if _, err := NewEncoder(cfg); !errors.Is(err, codec.ErrInvalidConfig) {
			t.Errorf("NewEncoder(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
	e := mustEncoder(t, EncoderConfig{})
	if e.SampleRate() != 48000 || e.Channels() != 1 || e.FrameSamples() != 960 || e.Bitrate() != 32000 {
		t.Errorf("defaults: %d Hz, %d ch, %d samples, %d bps", e.SampleRate(), e.Channels(), e.FrameSamples(), e.Bitrate())
	}
	if err := e.SetBitrate(100); !errors.Is(err, codec.ErrInvalidConfig) {
		t.Errorf("SetBitrate(100) = %v", err)
	}
	if _, err := e.Encode(make([]int16, 959), make([]byte, 100)); !errors.Is(err, codec.ErrFrameSize) {
		t.Errorf("Encode(959 samples) = %v, want ErrFrameSize", err)
	}
	if _, err := e.Encode(make([]int16, 960), nil); !errors.Is(err, codec.ErrFrameSize) {
		t.Errorf("Encode into nil = %v, want ErrFrameSize", err)
	}
	for _, bad := range [][2]int{{44100, 1}, {48000, 0}, {48000, 3}} {
		if _, err := NewDecoder(bad[0], bad[1]); !errors.Is(err, codec.ErrInvalidConfig) {
			t.Errorf("NewDecoder(%d, %d) = %v, want ErrInvalidConfig", bad[0], bad[1], err)
		}
	}
	e.Close()
	if _, err := e.Encode(make([]int16, 960), make([]byte, 100)); !errors.Is(err, codec.ErrClosed) {
		t.Errorf("Encode after Close = %v", err)
	}
	if err := e.SetBitrate(20000); !errors.Is(err, codec.ErrClosed) {
		t.Errorf("SetBitrate after Close = %v", err)
	}
	d := mustDecoder(t, rate, 1)
	d.Close()
	if _, err := d.Decode([]byte{0xf8, 0xff, 0xfe}, make([]int16, MaxFrameSamples)); !errors.Is(err, codec.ErrClosed) {
		t.Errorf("Decode after Close = %v", err)
	}
}

// Every packet duration RFC 6716 allows encodes, and decodes to as many
// samples: 2.5 ms to 120 ms.
func TestEveryFrameDuration(t *testing.T) {
	for _, ms := range []float64{2.5, 5, 10, 20, 40, 60, 80, 100, 120} {
		d := time.Duration(ms * float64(time.Millisecond))
		e := mustEncoder(t, EncoderConfig{FrameDuration: d})
		want := int(ms * 48)
		if e.FrameSamples() != want {
			t.Fatalf("%v: FrameSamples = %d, want %d", d, e.FrameSamples(), want)
		}
		in := make([]int16, want*4)
		codectest.Tone(in, 1, rate, 1000, 0.5, 0)
		dec := mustDecoder(t, rate, 1)
		pcm := make([]int16, MaxFrameSamples)
		for i, p := range encodeAll(t, e, in) {
			n, err := dec.Decode(p, pcm)
			if err != nil {
				t.Fatalf("%v packet %d: %v", d, i, err)
			}
			if n != want {
				t.Fatalf("%v packet %d: decoded %d samples, want %d", d, i, n, want)
			}
		}
	}
}

// Other rates and frame durations: a 16 kHz encoder with 60 ms frames
// decodes at 48 kHz to 2880 samples per packet.
func TestRatesAndDurations(t *testing.T) {
	e := mustEncoder(t, EncoderConfig{SampleRate: 16000, FrameDuration: 60 * time.Millisecond, Bitrate: 24000})
	if e.FrameSamples() != 960 {
		t.Fatalf("FrameSamples = %d, want 960", e.FrameSamples())
	}
	in := make([]int16, 16000)
	codectest.Tone(in, 1, 16000, 400, 0.5, 0)
	d := mustDecoder(t, rate, 1)
	pcm := make([]int16, MaxFrameSamples)
	var out []int16
	for _, p := range encodeAll(t, e, in) {
		n, err := d.Decode(p, pcm)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2880 {
			t.Fatalf("decoded %d samples from a 60 ms packet", n)
		}
		out = append(out, pcm[:n]...)
	}
	if d.LastSamples() != 2880 {
		t.Errorf("LastSamples = %d", d.LastSamples())
	}
	got := codectest.Goertzel(out[skip:skip+window], rate, 400)
	if diff := codectest.DB(got / 0.5); math.Abs(diff) > 1.5 {
		t.Errorf("400 Hz through 16 kHz/60 ms off by %.2f dB", diff)
	}
	// A buffer shorter than the packet is a frame size error.
	pkt := encodeAll(t, e, in[:960])[0]
	if _, err := d.Decode(pkt, pcm[:960]); !errors.Is(err, codec.ErrFrameSize) {
		t.Errorf("Decode of 60 ms into 20 ms = %v, want ErrFrameSize", err)
	}
}

func TestNoAllocs(t *testing.T) {
	for _, ch := range []int{1, 2} {
		e := mustEncoder(t, EncoderConfig{Channels: ch})
		d := mustDecoder(t, rate, ch)
		pcm := toneSignal(frame, 0.5, []float64{440, 660}[:ch]...)
		buf := make([]byte, MaxPacketBytes)
		out := make([]int16, MaxFrameSamples*ch)
		var n int
		encAllocs := testing.AllocsPerRun(100, func() {
			n, _ = e.Encode(pcm, buf)
		})
		decAllocs := testing.AllocsPerRun(100, func() {
			if _, err := d.Decode(buf[:n], out); err != nil {
				t.Fatal(err)
			}
		})
		plcAllocs := testing.AllocsPerRun(100, func() { d.Conceal(out, frame) })
		if encAllocs != 0 || decAllocs != 0 || plcAllocs != 0 {
			t.Errorf("%d channel(s): allocs per frame: encode %v, decode %v, conceal %v", ch, encAllocs, decAllocs, plcAllocs)
		}
	}
}

// A keyframe decodes on its own: fed to a decoder that never saw the
// stream before (a listener just moved to this encoder's stream, whose
// decoder holds another stream's state), it gives back the voice at its
// level, where an ordinary frame, predicted from frames that decoder never
// had, comes out wrong.
func TestForceKeyframeDecodesOnItsOwn(t *testing.T) {
	const frame = 960
	cfg := EncoderConfig{Bitrate: 32000, InbandFEC: true, PacketLossPercent: 5}
	plain, keyed := mustEncoder(t, cfg), mustEncoder(t, cfg)
	pcm := make([]int16, frame)
	buf := make([]byte, MaxPacketBytes)
	var pPlain, pKeyed [][]byte
	for i := range 40 {
		codectest.Tone(pcm, 1, 48000, 660, 0.25, i*frame)
		if i == 30 {
			keyed.ForceKeyframe()
		}
		for _, x := range []struct {
			e   *Encoder
			out *[][]byte
		}{{plain, &pPlain}, {keyed, &pKeyed}} {
			n, err := x.e.Encode(pcm, buf)
			if err != nil {
				t.Fatal(err)
			}
			*x.out = append(*x.out, append([]byte(nil), buf[:n]...))
		}
	}
	if string(pPlain[30]) == string(pKeyed[30]) {
		t.Fatal("ForceKeyframe did not change the frame")
	}
	if string(pPlain[29]) != string(pKeyed[29]) {
		t.Fatal("the two encoders differ before the keyframe")
	}
	// Decoders that join at frame 30 (after one frame of another stream's
	// silence, so that they are warm).
	joinAt := func(pkts [][]byte) float64 {
		dec, err := NewDecoder(48000, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		out := make([]int16, MaxFrameSamples)
		var heard []int16
		for _, p := range pkts[30:35] {
			n, err := dec.Decode(p, out)
			if err != nil {
				t.Fatal(err)
			}
			heard = append(heard, out[:n]...)
		}
		return codectest.Goertzel(heard[:4800], 48000, 660) // 100 ms from the join
	}
	lp, lk := joinAt(pPlain), joinAt(pKeyed)
	t.Logf("660 Hz over the first 100 ms a fresh decoder hears: %.3f from ordinary frames, %.3f from a keyframe (sent 0.25)", lp, lk)
	if math.Abs(lk-0.25) > math.Abs(lp-0.25) || math.Abs(lk-0.25) > 0.03 {
		t.Errorf("a keyframe decodes on its own to %.3f (ordinary frames %.3f), want about 0.25", lk, lp)
	}
}
