package room

import (
	"math"
	"math/bits"
	"time"

	"github.com/tessera-mcu/tessera/mixer"
)

// The RFC 6464 levels senders put in their packets choose the talkers
// without decoding anyone, so a sender could claim to be loud while
// sending silence and take a talker slot from someone who speaks. A talker
// is always decoded, so its claims are checked there against the energy
// of the audio they came with. A sender whose claims are far louder than
// its audio in enough of its recent frames has its claims ignored for a
// while: it is treated as a sender without the extension (decoded every
// tick, its level measured), so it holds a slot only while its audio
// really is loud, and is never kept out of the mix.
//
// An honest sender's claims match: Opus keeps the energy of what it codes
// within a few decibels. Its decoder gives a packet's audio out up to
// 6.5 ms late (the encoder's look-ahead), so the end of a sound, a click
// in a packet's last milliseconds, comes out with the next packet: a
// claim is weighed against the audio decoded with its packet and with the
// one after. Concealment, FEC and DTX packets carry no claim of their own
// and are not judged; the first packets a decoder decodes after a reset
// neither.
const (
	// claimMargin: a claim counts as a mismatch when it is more than
	// 20 dB (a power ratio of 100) louder than the audio decoded.
	claimMargin = 100
	// claimFloor: claims quieter than -60 dBov are not judged. They win
	// no talker slot, and faint sounds are where a codec's energy wanders
	// most.
	claimFloor mixer.Level = 60
	// claimWindow and claimLimit: a sender is distrusted when claimLimit
	// of its last claimWindow judged frames are mismatches.
	claimWindow = 25
	claimLimit  = 10
	// claimFresh is how many packets a new or reset decoder decodes
	// before its audio is held against the claims.
	claimFresh = 2
	// distrustFor is how long a sender's claims are ignored after its
	// first offence; each further offence doubles it, up to
	// distrustFor << maxDistrustDoublings (8 minutes).
	distrustFor          = 30 * time.Second
	maxDistrustDoublings = 4
)

// levelPower maps an RFC 6464 level to the mean power of the samples it
// stands for, in the units of a sum of squared 16-bit samples per sample.
var levelPower = func() (p [mixer.Silent + 1]float64) {
	for l := range p {
		p[l] = 32768 * 32768 * math.Pow(10, -float64(l)/10)
	}
	return p
}()

// levelClaims follows how one input's claimed levels compare with its
// decoded audio. It belongs to the room goroutine.
type levelClaims struct {
	// ignore counts down the ticks during which the claims are not used.
	ignore   int
	offences uint64
	// recent holds one bit per judged frame, the newest lowest; a set
	// bit is a mismatch.
	recent uint32
	fresh  int // packets to decode before judging (decoder reset)
	// The last frame with claims, waiting for the audio decoded after it:
	// the energy claimed for its judged packets and the energy of all it
	// decoded (sums of squared samples). claimed 0: none waits.
	claimed, heard float64
	judged         uint64
	mismatches     uint64
	// offended: distrust began since the room last looked.
	offended bool
}

// trusted reports whether this tick's claims are used, counting the
// tick off a distrust in force.
func (c *levelClaims) trusted() bool {
	if c.ignore == 0 {
		return true
	}
	c.ignore--
	return false
}

// restart follows a decoder reset: what was decoded before does not go on.
func (c *levelClaims) restart() {
	c.fresh = claimFresh
	c.claimed, c.heard = 0, 0
}

// interrupt follows a tick whose audio was not decoded: the frame waiting
// has no audio after it to be judged with.
func (c *levelClaims) interrupt() { c.claimed = 0 }

// frame takes one decode of a tick with a trusted input: the energy its
// judged packets claimed over n samples, and the energy of everything it
// decoded. It judges the frame waiting, and keeps this one waiting if its
// claims are loud enough to be judged.
func (c *levelClaims) frame(claimed float64, n int, heard float64) {
	if c.claimed > 0 {
		c.judge((c.heard+heard)*claimMargin < c.claimed)
		if c.ignore > 0 {
			return
		}
	}
	if n > 0 && claimed >= levelPower[claimFloor]*float64(n) {
		c.claimed, c.heard = claimed, heard
	} else {
		c.claimed, c.heard = 0, 0
	}
}

func (c *levelClaims) judge(mismatch bool) {
	c.judged++
	c.recent = c.recent << 1 & (1<<claimWindow - 1)
	if mismatch {
		c.recent |= 1
		c.mismatches++
	}
	if bits.OnesCount32(c.recent) < claimLimit {
		return
	}
	c.offences++
	c.ignore = int(distrustFor/tick) << min(c.offences-1, maxDistrustDoublings)
	c.recent, c.claimed, c.heard = 0, 0, 0
	c.offended = true
}

// distrustedFor is how long the claims stay ignored.
func (c *levelClaims) distrustedFor() time.Duration { return time.Duration(c.ignore) * tick }

// energy is the sum of the squared samples.
func energy(pcm []int16) float64 {
	var sum int64
	for _, s := range pcm {
		v := int64(s)
		sum += v * v
	}
	return float64(sum)
}
