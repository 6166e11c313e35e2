package g711

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/resample"
)

var laws = []Law{ULaw, ALaw}

func newPair(t testing.TB, l Law) (*Encoder, *Decoder) {
	t.Helper()
	e, err := NewEncoder(l)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecoder(l)
	if err != nil {
		t.Fatal(err)
	}
	return e, d
}

// roundTrip sends in (48 kHz, a whole number of frames) through an encoder
// and a decoder of law l frame by frame.
func roundTrip(t testing.TB, l Law, in []int16) []int16 {
	t.Helper()
	e, d := newPair(t, l)
	return codectest.RoundTrip(t, e, d, in, FrameSamples, FrameBytes)
}

func tone(freq, amp float64, n int) []int16 {
	pcm := make([]int16, n)
	codectest.Tone(pcm, 1, SampleRate, freq, amp, 0)
	return pcm
}

// The analysis window skips the first 20 ms (filter delay) and spans a
// whole number of periods of every frequency used (multiples of 20 Hz).
func window(pcm []int16) []int16 { return pcm[960 : 960+43200] }

func TestToneRoundTrip(t *testing.T) {
	const amp = 0.5 // -6 dBFS
	for _, l := range laws {
		out := window(roundTrip(t, l, tone(1000, amp, SampleRate)))
		got := codectest.Goertzel(out, SampleRate, 1000)
		t.Logf("%v: 1 kHz at %.2f dBFS (input %.2f)", l, codectest.DB(got), codectest.DB(amp))
		if d := codectest.DB(got / amp); math.Abs(d) > 1 {
			t.Errorf("%v: 1 kHz level off by %.2f dB", l, d)
		}
		for _, f := range []float64{300, 2000, 3000, 5000, 7000} {
			if rel := codectest.DB(codectest.Goertzel(out, SampleRate, f) / got); rel > -30 {
				t.Errorf("%v: %v Hz only %.1f dB below the tone", l, f, -rel)
			}
		}
	}
}

// A tone above 4 kHz cannot pass an 8 kHz channel: it must neither come
// through nor fold back into the band (5 kHz would alias to 3 kHz).
func TestOutOfBandTone(t *testing.T) {
	const amp = 0.5
	for _, l := range laws {
		out := window(roundTrip(t, l, tone(5000, amp, SampleRate)))
		at5 := codectest.DB(codectest.Goertzel(out, SampleRate, 5000) / amp)
		at3 := codectest.DB(codectest.Goertzel(out, SampleRate, 3000) / amp)
		t.Logf("%v: 5 kHz in, 5 kHz out at %.1f dB, 3 kHz alias at %.1f dB", l, at5, at3)
		if at5 > -30 || at3 > -30 {
			t.Errorf("%v: 5 kHz comes through at %.1f dB, alias at 3 kHz %.1f dB; want both below -30", l, at5, at3)
		}
	}
}

// Cutting the stream into frames must not show. The framed round trip is
// sample for sample what the same chain gives on the unbroken signal, and
// for a low tone the largest step at frame boundaries is no bigger than
// inside frames.
func TestFrameBoundaries(t *testing.T) {
	in := tone(170, 0.8, SampleRate) // 170 Hz: boundaries fall at every phase
	for _, l := range laws {
		out := roundTrip(t, l, in)

		ds, _ := resample.NewDown(factor)
		us, _ := resample.NewUp(factor)
		narrow := make([]int16, len(in)/6)
		ds.Process(in, narrow)
		enc, dec := EncodeULaw, DecodeULaw
		if l == ALaw {
			enc, dec = EncodeALaw, DecodeALaw
		}
		for i, s := range narrow {
			narrow[i] = dec(enc(s))
		}
		whole := make([]int16, len(in))
		us.Process(narrow, whole)
		if !slices.Equal(out, whole) {
			t.Errorf("%v: framed round trip differs from the unbroken one", l)
		}

		var inside, boundary int
		for i := FrameSamples + 1; i < len(out); i++ {
			step := abs(int(out[i]) - int(out[i-1]))
			if i%FrameSamples == 0 {
				boundary = max(boundary, step)
			} else {
				inside = max(inside, step)
			}
		}
		t.Logf("%v: largest step inside frames %d, at boundaries %d", l, inside, boundary)
		if boundary > inside {
			t.Errorf("%v: step of %d at a frame boundary, at most %d inside frames", l, boundary, inside)
		}
	}
}

func TestConceal(t *testing.T) {
	const amp = 0.5
	for _, l := range laws {
		e, d := newPair(t, l)
		in := tone(300, amp, 10*FrameSamples)
		payload := make([]byte, FrameBytes)
		pcm := make([]int16, FrameSamples)
		var last []int16
		for off := 0; off < len(in); off += FrameSamples {
			e.Encode(in[off:off+FrameSamples], payload)
			if _, err := d.Decode(payload, pcm); err != nil {
				t.Fatal(err)
			}
			last = append(last[:0], pcm...)
		}
		var levels []float64
		var joins []int
		for i := 0; i < 4; i++ {
			if n, err := d.Conceal(pcm, FrameSamples); err != nil || n != FrameSamples {
				t.Fatalf("Conceal = %d, %v", n, err)
			}
			joins = append(joins, abs(int(pcm[0])-int(last[len(last)-1])))
			levels = append(levels, codectest.DB(codectest.Goertzel(pcm, SampleRate, 300)/amp))
			last = append(last[:0], pcm...)
		}
		t.Logf("%v: concealed frames at %.1f dB relative to the tone; steps into each %v", l, levels, joins)
		if levels[0] < -3 {
			t.Errorf("%v: first concealed frame %.1f dB below the tone", l, -levels[0])
		}
		if !(levels[1] < levels[0] && levels[2] < levels[1]) {
			t.Errorf("%v: concealment does not fade: %.1f dB", l, levels)
		}
		// Past 60 ms, and past the filter's 2.5 ms memory, it is silent.
		for _, s := range pcm[120:] {
			if s != 0 {
				t.Fatalf("%v: still %d after 65 ms of loss", l, s)
			}
		}
		// A 300 Hz tone at -6 dBFS moves at most ~640 per sample; the
		// repeated period must join without a click.
		if joins[0] > 800 {
			t.Errorf("%v: step of %d into the concealment", l, joins[0])
		}
	}
	// Before anything is decoded, concealment is silence.
	_, d := newPair(t, ULaw)
	pcm := make([]int16, FrameSamples)
	for i := range pcm {
		pcm[i] = 1
	}
	d.Conceal(pcm, FrameSamples)
	for _, s := range pcm {
		if s != 0 {
			t.Fatalf("concealment with no history gave %d", s)
		}
	}
}

// After a loss the stream fades back in instead of jumping.
func TestResumeAfterLoss(t *testing.T) {
	e, d := newPair(t, ULaw)
	in := tone(250, 0.5, 20*FrameSamples)
	payload := make([]byte, FrameBytes)
	pcm := make([]int16, FrameSamples)
	var out []int16
	for f := 0; f < 20; f++ {
		e.Encode(in[f*FrameSamples:(f+1)*FrameSamples], payload)
		if f >= 5 && f < 10 { // 100 ms lost: concealment has faded out
			d.Conceal(pcm, FrameSamples)
		} else {
			d.Decode(payload, pcm)
		}
		out = append(out, pcm...)
	}
	var jump int
	for i := 10*FrameSamples - 5; i < 10*FrameSamples+200; i++ {
		jump = max(jump, abs(int(out[i])-int(out[i-1])))
	}
	t.Logf("largest step while resuming: %d", jump)
	if jump > 400 { // a 250 Hz tone at -6 dBFS steps by up to ~540
		t.Errorf("resuming after loss steps by %d", jump)
	}
}

func TestErrors(t *testing.T) {
	if _, err := NewEncoder(Law(2)); !errors.Is(err, codec.ErrInvalidConfig) {
		t.Errorf("NewEncoder(2) = %v", err)
	}
	if _, err := NewDecoder(Law(-1)); !errors.Is(err, codec.ErrInvalidConfig) {
		t.Errorf("NewDecoder(-1) = %v", err)
	}
	e, d := newPair(t, ALaw)
	codectest.CheckTelephoneCodecErrors(t, e, d, []int{0, 7, 966})
}

func TestNoAllocs(t *testing.T) {
	e, d := newPair(t, ULaw)
	in := tone(440, 0.5, FrameSamples)
	payload := make([]byte, FrameBytes)
	pcm := make([]int16, FrameSamples)
	allocs := testing.AllocsPerRun(100, func() {
		e.Encode(in, payload)
		d.Decode(payload, pcm)
		d.Conceal(pcm, FrameSamples)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per encode+decode+conceal", allocs)
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, l := range laws {
		b.Run(l.String(), func(b *testing.B) {
			e, _ := newPair(b, l)
			in := tone(440, 0.5, FrameSamples)
			payload := make([]byte, FrameBytes)
			b.ReportAllocs()
			for b.Loop() {
				e.Encode(in, payload)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, l := range laws {
		b.Run(l.String(), func(b *testing.B) {
			e, d := newPair(b, l)
			payload := make([]byte, FrameBytes)
			e.Encode(tone(440, 0.5, FrameSamples), payload)
			pcm := make([]int16, FrameSamples)
			b.ReportAllocs()
			for b.Loop() {
				d.Decode(payload, pcm)
			}
		})
	}
}
