package g722

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/g711"
)

func newPair(t testing.TB) (*Encoder, *Decoder) {
	t.Helper()
	e, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); d.Close() })
	return e, d
}

// roundTrip sends in (48 kHz, a whole number of frames) through e and d
// frame by frame.
func roundTrip(t testing.TB, e codectest.FrameEncoder, d codectest.FrameDecoder, in []int16) []int16 {
	t.Helper()
	return codectest.RoundTrip(t, e, d, in, FrameSamples, FrameBytes)
}

func tone(freq, amp float64, n int) []int16 {
	pcm := make([]int16, n)
	codectest.Tone(pcm, 1, SampleRate, freq, amp, 0)
	return pcm
}

// The analysis window skips the first 40 ms (filter delays, the ADPCM
// settling) and spans a whole number of periods of every frequency used.
func window(pcm []int16) []int16 { return pcm[1920 : 1920+43200] }

// A 1 kHz tone and a 6 kHz tone both come through at their level, and
// nothing else much: G.722 carries what G.711 cannot (6 kHz is checked
// against G.711 too, to show the test can tell).
func TestToneRoundTrip(t *testing.T) {
	const amp = 0.5 // -6 dBFS
	for _, freq := range []float64{1000, 6000} {
		e, d := newPair(t)
		out := window(roundTrip(t, e, d, tone(freq, amp, SampleRate)))
		got := codectest.Goertzel(out, SampleRate, freq)
		t.Logf("%v Hz at %.2f dBFS (input %.2f)", freq, codectest.DB(got), codectest.DB(amp))
		if dev := codectest.DB(got / amp); math.Abs(dev) > 1.5 {
			t.Errorf("%v Hz: level off by %.2f dB", freq, dev)
		}
		for _, f := range []float64{300, 2000, 3000, 5000, 7000, 16000 - freq} {
			if f == freq {
				continue
			}
			if rel := codectest.DB(codectest.Goertzel(out, SampleRate, f) / got); rel > -25 {
				t.Errorf("%v Hz: %v Hz only %.1f dB below the tone", freq, f, -rel)
			}
		}
	}
	ge, err := g711.NewEncoder(g711.ULaw)
	if err != nil {
		t.Fatal(err)
	}
	gd, err := g711.NewDecoder(g711.ULaw)
	if err != nil {
		t.Fatal(err)
	}
	out := window(roundTrip(t, ge, gd, tone(6000, amp, SampleRate)))
	if lvl := codectest.DB(codectest.Goertzel(out, SampleRate, 6000) / amp); lvl > -30 {
		t.Errorf("G.711 carries 6 kHz at %.1f dB: the comparison proves nothing", lvl)
	}
}

// Random bytes are a valid G.722 stream: they decode, to the expected
// number of samples, without a crash.
func TestGarbage(t *testing.T) {
	_, d := newPair(t)
	rng := rand.New(rand.NewPCG(3, 4))
	pcm := make([]int16, MaxFrameSamples)
	for i := 0; i < 200; i++ {
		p := make([]byte, 1+rng.IntN(MaxFrameSamples/SamplesPerByte))
		for j := range p {
			p[j] = byte(rng.Uint32())
		}
		if n, err := d.Decode(p, pcm); err != nil || n != SamplesPerByte*len(p) {
			t.Fatalf("Decode(%d random bytes) = %d, %v", len(p), n, err)
		}
	}
}

func TestConceal(t *testing.T) {
	const amp = 0.5
	e, d := newPair(t)
	in := tone(300, amp, 10*FrameSamples)
	payload := make([]byte, FrameBytes)
	pcm := make([]int16, FrameSamples)
	for off := 0; off < len(in); off += FrameSamples {
		e.Encode(in[off:off+FrameSamples], payload)
		if _, err := d.Decode(payload, pcm); err != nil {
			t.Fatal(err)
		}
	}
	last := pcm[len(pcm)-1]
	if n, err := d.Conceal(pcm, FrameSamples); err != nil || n != FrameSamples {
		t.Fatalf("Conceal = %d, %v", n, err)
	}
	first := codectest.DB(codectest.Goertzel(pcm, SampleRate, 300) / amp)
	// A 300 Hz tone at -6 dBFS moves by at most ~640 per sample at
	// 48 kHz; the concealment must start where the stream stopped.
	step := int(pcm[0]) - int(last)
	t.Logf("first concealed frame at %.1f dB; step into it %d", first, step)
	if first < -12 || first > 0 {
		t.Errorf("first concealed frame at %.1f dB: want a fading copy of the tone", first)
	}
	if step > 800 || step < -800 {
		t.Errorf("step of %d into the concealment", step)
	}
	d.Conceal(pcm, FrameSamples)
	for _, s := range pcm[120:] { // past the filter's memory
		if s != 0 {
			t.Fatalf("still %d after 20 ms of loss", s)
		}
	}
	// Before anything is decoded, concealment is silence.
	_, fresh := newPair(t)
	for i := range pcm {
		pcm[i] = 1
	}
	fresh.Conceal(pcm, FrameSamples)
	for _, s := range pcm {
		if s != 0 {
			t.Fatalf("concealment with no history gave %d", s)
		}
	}
}

func TestErrors(t *testing.T) {
	e, d := newPair(t)
	codectest.CheckTelephoneCodecErrors(t, e, d, []int{0, 7, 963})
}
