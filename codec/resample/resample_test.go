package resample

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tessera-mcu/tessera/codec/codectest"
)

const high = 48000

func pair(t testing.TB, factor int) (*Down, *Up) {
	t.Helper()
	d, err := NewDown(factor)
	if err != nil {
		t.Fatal(err)
	}
	u, err := NewUp(factor)
	if err != nil {
		t.Fatal(err)
	}
	return d, u
}

func TestBadFactor(t *testing.T) {
	for _, f := range []int{-1, 0, 1, 7, 100} {
		if _, err := NewDown(f); !errors.Is(err, ErrFactor) {
			t.Errorf("NewDown(%d) = %v", f, err)
		}
		if _, err := NewUp(f); !errors.Is(err, ErrFactor) {
			t.Errorf("NewUp(%d) = %v", f, err)
		}
	}
}

// Feeding a stream in pieces of any size gives the same samples as
// feeding it whole, and Reset starts afresh.
func TestStreaming(t *testing.T) {
	for _, f := range Factors {
		rng := rand.New(rand.NewPCG(1, uint64(f)))
		in := make([]int16, high)
		for i := range in {
			in[i] = int16(rng.IntN(20000) - 10000)
		}
		whole, upWhole := pair(t, f)
		want := make([]int16, len(in)/f)
		whole.Process(in, want)
		wantUp := make([]int16, f*len(want))
		upWhole.Process(want, wantUp)

		pieces, upPieces := pair(t, f)
		for round := 0; round < 2; round++ { // the second time after Reset
			var got []int16
			buf := make([]int16, 1000)
			for rest := in; len(rest) > 0; {
				n := min(len(rest), 1+rng.IntN(700))
				m := pieces.Process(rest[:n], buf)
				got = append(got, buf[:m]...)
				rest = rest[n:]
			}
			if !slices.Equal(got, want) {
				t.Fatalf("factor %d, round %d: Down piecewise output differs (%d vs %d samples)", f, round, len(got), len(want))
			}
			var gotUp []int16
			big := make([]int16, f*700)
			for rest := want; len(rest) > 0; {
				n := min(len(rest), 1+rng.IntN(700))
				m := upPieces.Process(rest[:n], big)
				gotUp = append(gotUp, big[:m]...)
				rest = rest[n:]
			}
			if !slices.Equal(gotUp, wantUp) {
				t.Fatalf("factor %d, round %d: Up piecewise output differs", f, round)
			}
			pieces.Reset()
			upPieces.Reset()
		}
	}
}

// gain measures the level of freq (at the high rate) after decimation by
// factor, at the frequency it lands on at the low rate, and after the
// round trip back.
func gain(t *testing.T, factor int, freq float64) (down, alias, round float64) {
	const amp = 0.5
	low := high / factor
	in := make([]int16, high)
	codectest.Tone(in, 1, high, freq, amp, 0)
	ds, us := pair(t, factor)
	narrow := make([]int16, low)
	ds.Process(in, narrow)
	wide := make([]int16, high)
	us.Process(narrow, wide)
	landed := math.Mod(freq, float64(low))
	if landed > float64(low)/2 {
		landed = float64(low) - landed
	}
	// Skip the first 50 ms; 0.9 s holds whole periods of any multiple
	// of 20 Hz.
	lw := narrow[low/20 : low/20+low*9/10]
	hw := wide[high/20 : high/20+high*9/10]
	down = codectest.DB(codectest.Goertzel(lw, low, landed) / amp)
	round = codectest.DB(codectest.Goertzel(hw, high, freq) / amp)
	alias = codectest.DB(codectest.Goertzel(hw, high, landed) / amp)
	return down, alias, round
}

// Each factor passes its band flat up to 600 Hz below the low rate's
// Nyquist frequency and removes everything from 600 Hz above it, before
// decimation (no alias) and after interpolation (no image).
func TestResponse(t *testing.T) {
	for _, f := range Factors {
		nyq := float64(high / f / 2)
		for _, freq := range []float64{100, 1000, nyq / 2, nyq - 600} {
			down, _, round := gain(t, f, freq)
			t.Logf("factor %d, %5.0f Hz: down %+.2f dB, round trip %+.2f dB", f, freq, down, round)
			if math.Abs(down) > 0.5 || math.Abs(round) > 1 {
				t.Errorf("factor %d, %v Hz: pass band gain %.2f dB down, %.2f dB round trip", f, freq, down, round)
			}
		}
		for _, freq := range []float64{nyq + 600, nyq + 1000, 1.5 * nyq, 2*nyq - 200, 23000} {
			down, alias, round := gain(t, f, freq)
			t.Logf("factor %d, %5.0f Hz: alias after decimation %.1f dB, round trip %.1f dB (alias %.1f dB)", f, freq, down, round, alias)
			if down > -45 || round > -45 || alias > -45 {
				t.Errorf("factor %d, %v Hz: stop band only %.1f / %.1f / %.1f dB down", f, freq, down, round, alias)
			}
		}
	}
}

// A full-scale square wave overshoots after filtering; it must saturate
// rather than wrap.
func TestClips(t *testing.T) {
	in := make([]int16, 4800)
	for i := range in {
		in[i] = 32767
		if (i/120)%2 == 1 {
			in[i] = -32768
		}
	}
	for _, f := range Factors {
		ds, us := pair(t, f)
		narrow := make([]int16, len(in)/f)
		ds.Process(in, narrow)
		wide := make([]int16, len(in))
		us.Process(narrow, wide)
		for i := 1; i < len(wide); i++ {
			if d := int(wide[i]) - int(wide[i-1]); d > 40000 || d < -40000 {
				t.Fatalf("factor %d: wrapped around at %d: %d -> %d", f, i, wide[i-1], wide[i])
			}
		}
	}
}

func TestNoAllocs(t *testing.T) {
	ds, us := pair(t, 3)
	in := make([]int16, 960)
	narrow := make([]int16, 320)
	allocs := testing.AllocsPerRun(50, func() {
		ds.Process(in, narrow)
		us.Process(narrow, in)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per call", allocs)
	}
}
