package g711

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tessera-mcu/tessera/codec/codectest"
)

// Feeding a stream in pieces of any size gives the same samples as feeding
// it whole.
func TestResamplerStreaming(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	in := make([]int16, 48000)
	for i := range in {
		in[i] = int16(rng.IntN(20000) - 10000)
	}

	var whole Downsampler
	want := make([]int16, len(in)/6)
	whole.Process(in, want)
	var pieces Downsampler
	var got []int16
	buf := make([]int16, 1000)
	for rest := in; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(700))
		m := pieces.Process(rest[:n], buf)
		got = append(got, buf[:m]...)
		rest = rest[n:]
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Downsampler: piecewise output differs (%d vs %d samples)", len(got), len(want))
	}

	var upWhole, upPieces Upsampler
	wantUp := make([]int16, 6*len(want))
	upWhole.Process(want, wantUp)
	var gotUp []int16
	big := make([]int16, 6*700)
	for rest := want; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(700))
		m := upPieces.Process(rest[:n], big)
		gotUp = append(gotUp, big[:m]...)
		rest = rest[n:]
	}
	if !slices.Equal(gotUp, wantUp) {
		t.Fatal("Upsampler: piecewise output differs")
	}

	pieces.Reset()
	upPieces.Reset()
	if pieces != (Downsampler{}) || upPieces != (Upsampler{}) {
		t.Fatal("Reset left state behind")
	}
}

// gain measures the level of freq (48 kHz input) after downsampling, at
// the frequency it lands on at 8 kHz, and after the round trip back to
// 48 kHz.
func gain(freq float64) (down, alias, round float64) {
	const amp = 0.5
	in := make([]int16, 48000)
	codectest.Tone(in, 1, 48000, freq, amp, 0)
	var ds Downsampler
	var us Upsampler
	narrow := make([]int16, 8000)
	ds.Process(in, narrow)
	wide := make([]int16, 48000)
	us.Process(narrow, wide)
	landed := freq
	if freq > 4000 {
		landed = math.Mod(freq, 8000)
		if landed > 4000 {
			landed = 8000 - landed
		}
	}
	// skip the first 50 ms; 7200 and 43200 samples hold whole periods of
	// any multiple of 20 Hz
	down = codectest.DB(codectest.Goertzel(narrow[400:400+7200], 8000, landed) / amp)
	round = codectest.DB(codectest.Goertzel(wide[2400:2400+43200], 48000, freq) / amp)
	alias = codectest.DB(codectest.Goertzel(wide[2400:2400+43200], 48000, landed) / amp)
	return down, alias, round
}

func TestResamplerResponse(t *testing.T) {
	for _, f := range []float64{100, 300, 1000, 2000, 3000, 3400} {
		down, _, round := gain(f)
		t.Logf("%5.0f Hz: down %+.2f dB, round trip %+.2f dB", f, down, round)
		if math.Abs(down) > 0.5 || math.Abs(round) > 1 {
			t.Errorf("%v Hz: pass band gain %.2f dB down, %.2f dB round trip", f, down, round)
		}
	}
	for _, f := range []float64{4600, 5000, 6000, 7000, 9000, 12000, 15000} {
		down, alias, round := gain(f)
		t.Logf("%5.0f Hz: alias after decimation %.1f dB, round trip %.1f dB (alias %.1f dB)", f, down, round, alias)
		if down > -45 || round > -45 || alias > -45 {
			t.Errorf("%v Hz: stop band only %.1f / %.1f / %.1f dB down", f, down, round, alias)
		}
	}
}

func TestResamplerClips(t *testing.T) {
	// A full-scale square wave overshoots after filtering; it must
	// saturate rather than wrap.
	in := make([]int16, 4800)
	for i := range in {
		in[i] = 32767
		if (i/120)%2 == 1 {
			in[i] = -32768
		}
	}
	var ds Downsampler
	var us Upsampler
	narrow := make([]int16, 800)
	ds.Process(in, narrow)
	wide := make([]int16, 4800)
	us.Process(narrow, wide)
	for i := 1; i < len(wide); i++ {
		if d := int(wide[i]) - int(wide[i-1]); d > 40000 || d < -40000 {
			t.Fatalf("wrapped around at %d: %d -> %d", i, wide[i-1], wide[i])
		}
	}
}
