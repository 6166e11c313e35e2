package codectest

import (
	"math"
	"testing"

	"github.com/tessera-mcu/tessera/codec"
)

func TestGoertzelFindsTone(t *testing.T) {
	pcm := make([]int16, 4800)
	Tone(pcm, 1, 48000, 440, 0.5, 0)
	if a := Goertzel(pcm, 48000, 440); math.Abs(a-0.5) > 0.02 {
		t.Fatalf("440 Hz amplitude = %.3f, want 0.5", a)
	}
	if a := Goertzel(pcm, 48000, 990); a > 0.01 {
		t.Fatalf("990 Hz amplitude = %.3f in a 440 Hz tone", a)
	}
}

func TestPSNR(t *testing.T) {
	a, b := codec.NewFrame(64, 48), codec.NewFrame(64, 48)
	MovingPicture(a, 3)
	MovingPicture(b, 3)
	if p := PSNR(a, b); !math.IsInf(p, 1) {
		t.Fatalf("identical PSNR = %v", p)
	}
	b.Y[0] ^= 0xff
	if p := PSNR(a, b); p < 30 || math.IsInf(p, 1) {
		t.Fatalf("one-pixel PSNR = %v", p)
	}
	MovingPicture(b, 40)
	if p := PSNR(a, b); p > 20 {
		t.Fatalf("different pictures PSNR = %v", p)
	}
}

func TestMedianLevelIgnoresPhaseJumps(t *testing.T) {
	pcm := make([]int16, 48000)
	// A 440 Hz tone with a phase jump every 230 ms: one long Goertzel
	// window loses much of it, the median of 100 ms windows does not.
	for start := 0; start < len(pcm); start += 11040 {
		end := min(start+11040, len(pcm))
		Tone(pcm[start:end], 1, 48000, 440, 0.25, start*7)
	}
	if m := MedianLevel(pcm, 48000, 440, 4800); math.Abs(m-0.25) > 0.03 {
		t.Fatalf("median level %.3f, want 0.25", m)
	}
	if m := MedianLevel(pcm, 48000, 990, 4800); m > 0.01 {
		t.Fatalf("absent tone at %.3f", m)
	}
}
