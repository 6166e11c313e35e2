package mixer

// Limiter turns a mixed frame held in int32 (where several loud voices may
// sum far beyond 16 bits) into int16 without wrap-around and without hard
// clipping. It works a frame at a time, which gives it a frame of
// look-ahead: the gain needed for the frame's peak applies from the frame's
// first sample (attack), recovers towards unity over the following frames
// with a ramp inside each frame (release), and a soft knee bends whatever
// still comes near full scale instead of cutting it.
type Limiter struct {
	gain float32
}

const (
	// limiterCeiling is where gain reduction aims: -1 dBFS.
	limiterCeiling = 0.891 * 32767
	// limiterKnee is where the soft clipper starts bending the waveform.
	limiterKnee = 0.80 * 32767
	// limiterRelease is the fraction of the remaining gain recovered per
	// 20 ms frame: about 100 ms to get most of the way back to unity.
	limiterRelease = 0.2
)

// NewLimiter returns a limiter at unity gain.
func NewLimiter() *Limiter { return &Limiter{gain: 1} }

// Reset returns the limiter to unity gain.
func (l *Limiter) Reset() { l.gain = 1 }

// Gain is the gain the limiter ended the last frame with (1 = none).
func (l *Limiter) Gain() float32 { return l.gain }

// Process limits in into out, which must be at least as long.
func (l *Limiter) Process(in []int32, out []int16) {
	var peak int32
	for _, v := range in {
		if v < 0 {
			v = -v
		}
		peak = max(peak, v)
	}
	target := float32(1)
	if float32(peak) > limiterCeiling {
		target = limiterCeiling / float32(peak)
	}
	start, next := target, target
	if target > l.gain {
		start, next = l.gain, l.gain+(target-l.gain)*limiterRelease
	}
	step := (next - start) / float32(max(len(in), 1))
	g := start
	for i, v := range in {
		g += step
		out[i] = softClip(float32(v) * g)
	}
	l.gain = next
}

// softClip passes samples below the knee untouched and bends those above
// it smoothly towards full scale, never reaching it.
func softClip(x float32) int16 {
	a := x
	if a < 0 {
		a = -a
	}
	if a <= limiterKnee {
		return int16(x)
	}
	const span = 32767 - limiterKnee
	y := limiterKnee + span*tanhApprox((a-limiterKnee)/span)
	if x < 0 {
		return int16(-y)
	}
	return int16(y)
}

// tanhApprox is a rational approximation of tanh for x >= 0 that is exact
// at 0, reaches exactly 1 at x = 3 and stays there: monotonic, continuous,
// and far cheaper than math.Tanh on the per-sample path.
func tanhApprox(x float32) float32 {
	if x >= 3 {
		return 1
	}
	x2 := x * x
	return x * (27 + x2) / (27 + 9*x2)
}
