package mixer

import "math"

// Level is an audio level as RFC 6464 carries it: 0 to 127 decibels below
// the overload point (dBov), so 0 is the loudest and 127 is silence.
type Level uint8

// Silent is the quietest level RFC 6464 can express.
const Silent Level = 127

// LevelOfPCM measures the level of 16-bit PCM the way RFC 6464 defines it:
// the RMS of the frame in dBov, rounded towards silence and clamped to
// 0..127. A level is what a sender without the header extension would have
// put in it.
func LevelOfPCM(pcm []int16) Level {
	if len(pcm) == 0 {
		return Silent
	}
	var sum float64
	for _, s := range pcm {
		v := float64(s)
		sum += v * v
	}
	rms := math.Sqrt(sum/float64(len(pcm))) / 32768
	if rms <= 0 {
		return Silent
	}
	dbov := -20 * math.Log10(rms)
	return Level(min(127, max(0, math.Ceil(dbov-1e-9))))
}
