package g711

import (
	"fmt"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/resample"
)

// factor is the ratio of SampleRate to G.711's 8 kHz.
const factor = SampleRate / 8000

const (
	// SampleRate is the PCM rate Encoder takes and Decoder produces.
	SampleRate = 48000
	// FrameSamples is one 20 ms frame at SampleRate.
	FrameSamples = 960
	// FrameBytes is the G.711 payload of one 20 ms frame (8000 Hz x 20 ms).
	FrameBytes = FrameSamples / factor
	// MaxFrameSamples is the 48 kHz output of a 120 ms payload, the longest
	// packet time in common use; pcm buffers of this size suit any
	// ordinary stream. Longer payloads decode too, given a bigger buffer.
	MaxFrameSamples = 5760
)

// Encoder encodes 20 ms frames of 48 kHz mono PCM to G.711.
type Encoder struct {
	law    Law
	down   *resample.Down
	narrow [FrameBytes]int16
	closed bool
}

// NewEncoder returns an encoder for law.
func NewEncoder(law Law) (*Encoder, error) {
	if !law.valid() {
		return nil, fmt.Errorf("%w: g711 law %v (want ULaw or ALaw)", codec.ErrInvalidConfig, law)
	}
	down, err := resample.NewDown(factor)
	if err != nil {
		return nil, err
	}
	return &Encoder{law: law, down: down}, nil
}

// Encode resamples one frame (FrameSamples samples at 48 kHz) to 8 kHz,
// compands it into dst and returns FrameBytes.
func (e *Encoder) Encode(pcm []int16, dst []byte) (int, error) {
	if e.closed {
		return 0, fmt.Errorf("g711 encode: %w", codec.ErrClosed)
	}
	if len(pcm) != FrameSamples {
		return 0, fmt.Errorf("%w: g711 encode got %d samples, want %d", codec.ErrFrameSize, len(pcm), FrameSamples)
	}
	if len(dst) < FrameBytes {
		return 0, fmt.Errorf("%w: g711 encode into %d bytes, need %d", codec.ErrFrameSize, len(dst), FrameBytes)
	}
	n := e.down.Process(pcm, e.narrow[:])
	dst = dst[:n]
	if e.law == ULaw {
		for i, s := range e.narrow[:n] {
			dst[i] = EncodeULaw(s)
		}
	} else {
		for i, s := range e.narrow[:n] {
			dst[i] = EncodeALaw(s)
		}
	}
	return n, nil
}

// Law is the companding law the encoder uses.
func (e *Encoder) Law() Law { return e.law }

// SampleRate is 48000.
func (e *Encoder) SampleRate() int { return SampleRate }

// Channels is 1.
func (e *Encoder) Channels() int { return 1 }

// FrameSamples is 960 (20 ms).
func (e *Encoder) FrameSamples() int { return FrameSamples }

// Close marks the encoder unusable.
func (e *Encoder) Close() error {
	e.closed = true
	return nil
}

// Concealment parameters, in 8 kHz samples.
const (
	histLen   = 240 // 30 ms of decoded history
	minPitch  = 20  // 2.5 ms (400 Hz)
	maxPitch  = 120 // 15 ms (66 Hz)
	matchLen  = 80  // 10 ms compared when estimating the pitch
	holdLen   = 80  // full level for the first 10 ms of a loss
	fadeEnd   = 480 // silent from 60 ms of loss on
	mergeLen  = 32  // 4 ms cross-fade into the first packet after a loss
	chunkSize = 160 // 20 ms of 8 kHz samples processed at a time
)

// Decoder decodes G.711 payloads to 48 kHz mono PCM and conceals lost
// packets.
type Decoder struct {
	table  *[256]int16
	law    Law
	up     *resample.Up
	narrow [chunkSize]int16

	hist  [histLen]int16 // last decoded 8 kHz samples, oldest first
	heard bool           // hist holds real audio
	lost  int            // 8 kHz samples concealed since the last good packet
	pitch int            // period repeated while concealing

	closed bool
}

// NewDecoder returns a decoder for law.
func NewDecoder(law Law) (*Decoder, error) {
	if !law.valid() {
		return nil, fmt.Errorf("%w: g711 law %v (want ULaw or ALaw)", codec.ErrInvalidConfig, law)
	}
	up, err := resample.NewUp(factor)
	if err != nil {
		return nil, err
	}
	d := &Decoder{law: law, table: &ulawTable, up: up}
	if law == ALaw {
		d.table = &alawTable
	}
	return d, nil
}

// Decode expands payload (one byte per 8 kHz sample, any length) and
// resamples it into pcm, returning 6*len(payload) samples. An empty payload
// is an error wrapping codec.ErrCorrupt; a payload whose output does not
// fit in pcm is an error wrapping codec.ErrFrameSize.
func (d *Decoder) Decode(payload []byte, pcm []int16) (int, error) {
	if d.closed {
		return 0, fmt.Errorf("g711 decode: %w", codec.ErrClosed)
	}
	if len(payload) == 0 {
		return 0, fmt.Errorf("%w: g711 decode of an empty payload", codec.ErrCorrupt)
	}
	if factor*len(payload) > len(pcm) {
		return 0, fmt.Errorf("%w: g711 payload of %d bytes needs %d samples, buffer holds %d", codec.ErrFrameSize, len(payload), factor*len(payload), len(pcm))
	}
	merged := 0
	out := 0
	for len(payload) > 0 {
		n := min(len(payload), chunkSize)
		nb := d.narrow[:n]
		for i, c := range payload[:n] {
			nb[i] = d.table[c]
		}
		if d.lost > 0 {
			// Fade from the concealment into the real signal.
			for ; merged < mergeLen && merged < n; merged++ {
				w := float32(merged+1) / (mergeLen + 1)
				c := float32(d.concealed(d.lost + merged))
				nb[merged] = resample.Int16(w*float32(nb[merged]) + (1-w)*c)
			}
			if merged == mergeLen || len(payload) == n {
				d.lost = 0
			}
		}
		d.remember(nb)
		out += d.up.Process(nb, pcm[out:])
		payload = payload[n:]
	}
	d.heard = true
	return out, nil
}

// Conceal writes samples (at 48 kHz, a multiple of 6) of substitute audio
// for a lost packet into pcm. It repeats the last pitch period decoded,
// holds it for 10 ms of loss and fades it out by 60 ms; before any packet
// has been decoded, and after 60 ms of loss, it writes silence (still
// through the resampler, so the transition is smooth).
func (d *Decoder) Conceal(pcm []int16, samples int) (int, error) {
	if d.closed {
		return 0, fmt.Errorf("g711 conceal: %w", codec.ErrClosed)
	}
	if samples <= 0 || samples%factor != 0 || samples > len(pcm) {
		return 0, fmt.Errorf("%w: g711 conceal of %d samples into a buffer of %d (want a positive multiple of %d)", codec.ErrFrameSize, samples, len(pcm), factor)
	}
	if d.lost == 0 && d.heard {
		d.pitch = d.estimatePitch()
	}
	narrow, lost := samples/factor, d.lost
	out := d.up.Synth(pcm, d.narrow[:chunkSize], narrow, func(i int) int16 { return d.concealed(lost + i) })
	d.lost += narrow
	return out, nil
}

// concealed is the substitute 8 kHz sample at position t of a loss: the
// last pitch period, repeated, under the fade envelope.
func (d *Decoder) concealed(t int) int16 {
	if !d.heard || t >= fadeEnd {
		return 0
	}
	s := float32(d.hist[histLen-d.pitch+t%d.pitch])
	if t >= holdLen {
		s *= float32(fadeEnd-t) / (fadeEnd - holdLen)
	}
	return resample.Int16(s)
}

// estimatePitch finds the lag, between minPitch and maxPitch, at which the
// last matchLen decoded samples best resemble the ones before them
// (normalised cross-correlation). For unvoiced sound any lag will do.
func (d *Decoder) estimatePitch() int {
	recent := d.hist[histLen-matchLen:]
	best, bestScore := maxPitch, float32(-2)
	for lag := minPitch; lag <= maxPitch; lag++ {
		past := d.hist[histLen-matchLen-lag : histLen-lag]
		var xy, yy float32
		for i, x := range recent {
			y := float32(past[i])
			xy += float32(x) * y
			yy += y * y
		}
		if yy == 0 {
			continue
		}
		// Compare xy/sqrt(yy) across lags without the square root; the
		// sign has to survive the squaring.
		score := xy * abs32(xy) / yy
		if score > bestScore {
			best, bestScore = lag, score
		}
	}
	return best
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// remember appends decoded samples to the history.
func (d *Decoder) remember(s []int16) {
	if len(s) >= histLen {
		copy(d.hist[:], s[len(s)-histLen:])
		return
	}
	copy(d.hist[:], d.hist[len(s):])
	copy(d.hist[histLen-len(s):], s)
}

// Law is the companding law the decoder expects.
func (d *Decoder) Law() Law { return d.law }

// SampleRate is 48000.
func (d *Decoder) SampleRate() int { return SampleRate }

// Channels is 1.
func (d *Decoder) Channels() int { return 1 }

// Close marks the decoder unusable.
func (d *Decoder) Close() error {
	d.closed = true
	return nil
}
