// Package codectest holds the signal generators and measurements that codec,
// mixer and room tests share: synthetic moving pictures, PSNR, sine tones and
// the Goertzel single-bin detector; and, for the fixed-frame telephone
// codecs, a frame-by-frame round trip and the errors they must give.
package codectest

import (
	"math"
	"slices"

	"github.com/tessera-mcu/tessera/codec"
)

// MovingPicture draws frame n of a synthetic sequence into f: a diagonal
// luma gradient and coloured bars that scroll a few pixels per frame, and a
// bouncing bright square. It has edges, flat areas and motion, which is
// what a real-time encoder has to cope with.
func MovingPicture(f *codec.Frame, n int) {
	w, h := f.Width, f.Height
	shift := n * 3
	for y := 0; y < h; y++ {
		row := f.Y[y*w : (y+1)*w]
		for x := range row {
			row[x] = uint8(16 + ((x+y+shift)*219/(w+h))%220)
		}
	}
	cw, ch := f.ChromaWidth(), f.ChromaHeight()
	for y := 0; y < ch; y++ {
		for x := 0; x < cw; x++ {
			bar := ((x + shift/2) * 8 / cw) % 8
			f.U[y*cw+x] = uint8(64 + bar*16)
			f.V[y*cw+x] = uint8(192 - bar*12 - y*32/ch)
		}
	}
	side := h / 6
	px := (n * 7) % (2 * (w - side))
	if px >= w-side {
		px = 2*(w-side) - px
	}
	py := (n * 5) % (2 * (h - side))
	if py >= h-side {
		py = 2*(h-side) - py
	}
	f.FillRect(codec.R(px, py, side, side), codec.RGB(250, 240, 40))
}

// PSNR is the peak signal-to-noise ratio of b against reference a over all
// three planes, in dB. Identical pictures give +Inf.
func PSNR(a, b *codec.Frame) float64 {
	pa, pb := a.Bytes(), b.Bytes()
	if len(pa) != len(pb) {
		return 0
	}
	var sum float64
	for i := range pa {
		d := float64(pa[i]) - float64(pb[i])
		sum += d * d
	}
	if sum == 0 {
		return math.Inf(1)
	}
	mse := sum / float64(len(pa))
	return 10 * math.Log10(255*255/mse)
}

// Tone fills pcm (interleaved, channels wide) with a sine of freq Hz and peak
// amplitude amp (0..1 of full scale), starting at sample index start, and
// returns the next index.
func Tone(pcm []int16, channels, rate int, freq, amp float64, start int) int {
	n := len(pcm) / channels
	for i := 0; i < n; i++ {
		v := int16(amp * 32767 * math.Sin(2*math.Pi*freq*float64(start+i)/float64(rate)))
		for c := 0; c < channels; c++ {
			pcm[i*channels+c] = v
		}
	}
	return start + n
}

// Goertzel returns the amplitude (0..1 of full scale) of the freq Hz
// component of mono samples at rate Hz. A full-scale sine gives about 1.
func Goertzel(samples []int16, rate int, freq float64) float64 {
	n := len(samples)
	if n == 0 {
		return 0
	}
	k := math.Round(float64(n) * freq / float64(rate))
	w := 2 * math.Pi * k / float64(n)
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range samples {
		s := float64(x)/32768 + coeff*s1 - s2
		s2, s1 = s1, s
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(math.Max(power, 0)) / float64(n)
}

// DB converts an amplitude ratio to decibels.
func DB(ratio float64) float64 { return 20 * math.Log10(ratio) }

// Channel extracts channel c of interleaved samples.
func Channel(pcm []int16, channels, c int) []int16 {
	out := make([]int16, len(pcm)/channels)
	for i := range out {
		out[i] = pcm[i*channels+c]
	}
	return out
}

// MedianLevel is the median of Goertzel amplitudes of freq over
// consecutive windows of win samples: robust to phase jumps and short
// drop-outs that would cancel a tone out in one long window.
func MedianLevel(samples []int16, rate int, freq float64, win int) float64 {
	var amps []float64
	for i := 0; i+win <= len(samples); i += win {
		amps = append(amps, Goertzel(samples[i:i+win], rate, freq))
	}
	if len(amps) == 0 {
		return 0
	}
	slices.Sort(amps)
	return amps[len(amps)/2]
}
