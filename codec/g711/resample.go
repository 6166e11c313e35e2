package g711

import "math"

// Resampling between 48 kHz and 8 kHz is a factor of six either way. Both
// directions share one linear-phase low-pass FIR designed for 48 kHz: a
// Kaiser-windowed sinc with its -6 dB point at 4 kHz, flat to 3.4 kHz and
// more than 50 dB down from 4.6 kHz.
const (
	factor   = 6
	taps     = 120           // multiple of factor
	phaseLen = taps / factor // taps per polyphase branch
	cutoffHz = 4000.0
	kaiserB  = 4.6 // about 50 dB of stop-band attenuation
)

// lowpass holds the taps, normalised to unity gain at DC. polyphase[k]
// holds branch k (taps k, k+6, k+12, ...) scaled by the factor, which
// makes up for the energy lost by zero-stuffing.
var (
	lowpass   [taps]float32
	polyphase [factor][phaseLen]float32
)

func init() {
	var h [taps]float64
	var sum float64
	mid := float64(taps-1) / 2
	fc := cutoffHz / 48000
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
	for i := range h {
		lowpass[i] = float32(h[i] / sum)
		polyphase[i%factor][i/factor] = float32(factor * h[i] / sum)
	}
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

// Downsampler converts 48 kHz PCM to 8 kHz: it low-pass filters and keeps
// every sixth sample. It keeps the filter history between calls, so a
// stream may be fed in pieces of any length. The zero value is ready to
// use.
type Downsampler struct {
	// line holds the last taps inputs twice over, newest first from
	// line[pos], so the filter always reads one contiguous window.
	line  [2 * taps]float32
	pos   int
	phase int // inputs since the last output
}

// Process filters in (48 kHz) and writes the 8 kHz result to out, returning
// the number of samples written: len(in)/6, give or take one when len(in)
// is not a multiple of 6. out must hold len(in)/6+1 samples (len(in)/6 when
// every call passes a multiple of 6); Process panics otherwise.
func (d *Downsampler) Process(in, out []int16) int {
	n := 0
	for _, s := range in {
		d.pos--
		if d.pos < 0 {
			d.pos = taps - 1
		}
		v := float32(s)
		d.line[d.pos] = v
		d.line[d.pos+taps] = v
		d.phase++
		if d.phase < factor {
			continue
		}
		d.phase = 0
		out[n] = toInt16(dot(lowpass[:], d.line[d.pos:d.pos+taps]))
		n++
	}
	return n
}

// Reset clears the filter history.
func (d *Downsampler) Reset() { *d = Downsampler{} }

// Upsampler converts 8 kHz PCM to 48 kHz: every input sample becomes six
// output samples interpolated by the polyphase branches of the low-pass
// filter (the same result as inserting five zeros after each sample and
// filtering, at a sixth of the cost). It keeps the filter history between
// calls. The zero value is ready to use.
type Upsampler struct {
	line [2 * phaseLen]float32
	pos  int
}

// Process interpolates in (8 kHz) into out (48 kHz) and returns 6*len(in).
// out must hold that many samples; Process panics otherwise.
func (u *Upsampler) Process(in, out []int16) int {
	out = out[:factor*len(in)]
	for i, s := range in {
		u.pos--
		if u.pos < 0 {
			u.pos = phaseLen - 1
		}
		v := float32(s)
		u.line[u.pos] = v
		u.line[u.pos+phaseLen] = v
		win := u.line[u.pos : u.pos+phaseLen]
		o := out[i*factor : i*factor+factor]
		for k := range o {
			o[k] = toInt16(dot(polyphase[k][:], win))
		}
	}
	return len(out)
}

// Reset clears the filter history.
func (u *Upsampler) Reset() { *u = Upsampler{} }

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

func toInt16(v float32) int16 {
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
