package mixer

import (
	"testing"

	"github.com/tessera-mcu/tessera/codec/codectest"
)

func TestLimiterPassesQuietAudioUntouched(t *testing.T) {
	l := NewLimiter()
	pcm := make([]int16, FrameSamples)
	codectest.Tone(pcm, 1, SampleRate, 300, 0.5, 0)
	in := make([]int32, FrameSamples)
	for i, v := range pcm {
		in[i] = int32(v)
	}
	out := make([]int16, FrameSamples)
	l.Process(in, out)
	for i := range pcm {
		if out[i] != pcm[i] {
			t.Fatalf("sample %d changed: %d -> %d", i, pcm[i], out[i])
		}
	}
}

// Three people laughing at once: three full-scale tones summed to about
// three times full scale. The output must neither wrap (sign flips against
// the input) nor flat-top (runs of identical samples at the ceiling).
func TestLimiterNoWrapNoHardClip(t *testing.T) {
	l := NewLimiter()
	srcs := []*toneSource{{freq: 220, amp: 1}, {freq: 330, amp: 1}, {freq: 470, amp: 1}}
	in := make([]int32, FrameSamples)
	out := make([]int16, FrameSamples)
	var maxRun int
	for frame := range 50 {
		clear(in)
		for _, s := range srcs {
			for i, v := range s.next() {
				in[i] += int32(v)
			}
		}
		l.Process(in, out)
		run := 0
		for i := range in {
			if (in[i] > 1000 && out[i] < 0) || (in[i] < -1000 && out[i] > 0) {
				t.Fatalf("frame %d sample %d wrapped: in %d out %d", frame, i, in[i], out[i])
			}
			if i > 0 && out[i] == out[i-1] && (out[i] > 30000 || out[i] < -30000) {
				run++
				maxRun = max(maxRun, run)
			} else {
				run = 0
			}
		}
	}
	if maxRun > 2 {
		t.Fatalf("flat top of %d identical samples at the ceiling", maxRun)
	}
	if g := l.Gain(); g > 0.5 {
		t.Fatalf("limiter gain %.2f under a 3x overload", g)
	}
	// Once the overload ends, the gain recovers.
	quiet := make([]int32, FrameSamples)
	for range 50 {
		l.Process(quiet, out)
	}
	if g := l.Gain(); g < 0.99 {
		t.Fatalf("gain did not recover: %.3f", g)
	}
}

func BenchmarkLimiter(b *testing.B) {
	l := NewLimiter()
	in := make([]int32, FrameSamples)
	for i := range in {
		in[i] = int32((i*97)%90000) - 45000
	}
	out := make([]int16, FrameSamples)
	for b.Loop() {
		l.Process(in, out)
	}
}
