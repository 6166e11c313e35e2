package resample

import (
	"fmt"
	"math"
	"sync"
)

// Filter design, shared by every factor: taps is a multiple of each
// supported factor, so every polyphase branch has taps/factor taps.
const (
	taps    = 120
	kaiserB = 4.6 // about 50 dB of stop-band attenuation
)

// Factors are the supported resampling factors.
var Factors = []int{2, 3, 4, 5, 6}

// kernel is the low-pass filter of one factor: taps normalised to unity
// gain at DC, and the same taps split into polyphase branches (branch k
// holds taps k, k+factor, ...) scaled by the factor.
type kernel struct {
	factor    int
	lowpass   []float32
	polyphase [][]float32
}

var kernels = func() (k [7]func() *kernel) {
	for _, f := range Factors {
		k[f] = sync.OnceValue(func() *kernel { return design(f) })
	}
	return k
}()

// kernelFor returns the shared kernel of factor.
func kernelFor(factor int) (*kernel, error) {
	if factor < 0 || factor >= len(kernels) || kernels[factor] == nil {
		return nil, fmt.Errorf("%w: %d (want one of %v)", ErrFactor, factor, Factors)
	}
	return kernels[factor](), nil
}

// design computes the Kaiser-windowed sinc of factor, its cut-off at the
// low rate's Nyquist frequency.
func design(factor int) *kernel {
	h := make([]float64, taps)
	var sum float64
	mid := float64(taps-1) / 2
	fc := 0.5 / float64(factor) // cut-off, as a fraction of the high rate
	for i := range h {
		t := float64(i) - mid
		sinc := 2 * fc
		if t != 0 {
			sinc = math.Sin(2*math.Pi*fc*t) / (math.Pi * t)
		}
		r := t / mid
		w := besselI0(kaiserB*math.Sqrt(max(0, 1-r*r))) / besselI0(kaiserB)
		h[i] = sinc * w
		sum += h[i]
	}
	k := &kernel{factor: factor, lowpass: make([]float32, taps), polyphase: make([][]float32, factor)}
	for p := range k.polyphase {
		k.polyphase[p] = make([]float32, taps/factor)
	}
	for i := range h {
		k.lowpass[i] = float32(h[i] / sum)
		k.polyphase[i%factor][i/factor] = float32(float64(factor) * h[i] / sum)
	}
	return k
}

// besselI0 is the zeroth-order modified Bessel function of the first kind,
// by its power series (converges fast for the arguments a window needs).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2) / float64(k)
		sum += term * term
		if term*term < sum*1e-17 {
			break
		}
	}
	return sum
}

// dot is the inner product of two equally long vectors, four at a time.
func dot(h, x []float32) float32 {
	x = x[:len(h)]
	var a0, a1, a2, a3 float32
	i := 0
	for ; i+4 <= len(h); i += 4 {
		a0 += h[i] * x[i]
		a1 += h[i+1] * x[i+1]
		a2 += h[i+2] * x[i+2]
		a3 += h[i+3] * x[i+3]
	}
	for ; i < len(h); i++ {
		a0 += h[i] * x[i]
	}
	return (a0 + a1) + (a2 + a3)
}

// Int16 rounds v to the nearest int16, saturating at the type's range.
func Int16(v float32) int16 {
	switch {
	case v >= 32767:
		return 32767
	case v <= -32768:
		return -32768
	case v < 0:
		return int16(v - 0.5)
	}
	return int16(v + 0.5)
}
