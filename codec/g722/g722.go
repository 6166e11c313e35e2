package g722

import (
	"fmt"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/resample"
)

const (
	// SampleRate is the PCM rate Encoder takes and Decoder produces.
	SampleRate = 48000
	// FrameSamples is one 20 ms frame at SampleRate.
	FrameSamples = 960
	// FrameBytes is the G.722 payload of one 20 ms frame: 320 samples at
	// 16 kHz, one byte for two.
	FrameBytes = 160
	// SamplesPerByte is the 48 kHz samples one payload byte decodes to.
	SamplesPerByte = FrameSamples / FrameBytes
	// MaxFrameSamples is the 48 kHz output of a 120 ms payload, the
	// longest packet time in common use; pcm buffers of this size suit
	// any ordinary stream. Longer payloads decode too, given a bigger
	// buffer.
	MaxFrameSamples = 5760
)

// factor is the ratio of SampleRate to G.722's 16 kHz; narrowFrame is a
// 20 ms frame at 16 kHz.
const (
	factor      = SampleRate / 16000
	narrowFrame = FrameSamples / factor
)

// Encoder encodes 20 ms frames of 48 kHz mono PCM to G.722.
type Encoder struct {
	lib    lib
	down   *resample.Down
	narrow [narrowFrame]int16
}

// NewEncoder returns a G.722 encoder at 64 kbit/s.
func NewEncoder() (*Encoder, error) {
	down, err := resample.NewDown(factor)
	if err != nil {
		return nil, err
	}
	l, err := open(true, narrowFrame)
	if err != nil {
		return nil, err
	}
	return &Encoder{lib: l, down: down}, nil
}

// Encode resamples one frame (FrameSamples samples at 48 kHz) to 16 kHz,
// encodes it into dst and returns FrameBytes.
func (e *Encoder) Encode(pcm []int16, dst []byte) (int, error) {
	if e.lib.c == nil {
		return 0, fmt.Errorf("g722 encode: %w", codec.ErrClosed)
	}
	if len(pcm) != FrameSamples {
		return 0, fmt.Errorf("%w: g722 encode got %d samples, want %d", codec.ErrFrameSize, len(pcm), FrameSamples)
	}
	if len(dst) < FrameBytes {
		return 0, fmt.Errorf("%w: g722 encode into %d bytes, need %d", codec.ErrFrameSize, len(dst), FrameBytes)
	}
	e.down.Process(pcm, e.narrow[:])
	return e.lib.encode(e.narrow[:], dst[:FrameBytes])
}

// SampleRate is 48000.
func (e *Encoder) SampleRate() int { return SampleRate }

// Channels is 1.
func (e *Encoder) Channels() int { return 1 }

// FrameSamples is 960 (20 ms).
func (e *Encoder) FrameSamples() int { return FrameSamples }

// Close frees the encoder; later calls fail with codec.ErrClosed.
func (e *Encoder) Close() error {
	e.lib.close()
	e.lib.c = nil
	return nil
}

// Decoder decodes G.722 payloads to 48 kHz mono PCM and conceals lost
// packets.
type Decoder struct {
	lib    lib
	up     *resample.Up
	narrow [narrowFrame]int16

	hist  [narrowFrame]int16 // the last 20 ms decoded at 16 kHz, oldest first
	heard bool               // hist holds real audio
	lost  int                // 16 kHz samples concealed since the last packet
}

// NewDecoder returns a G.722 decoder for 64 kbit/s streams.
func NewDecoder() (*Decoder, error) {
	up, err := resample.NewUp(factor)
	if err != nil {
		return nil, err
	}
	l, err := open(false, 0)
	if err != nil {
		return nil, err
	}
	return &Decoder{lib: l, up: up}, nil
}

// Decode decodes payload (any length; 20 ms is 160 bytes) and resamples
// it into pcm, returning 6*len(payload) samples. An empty payload is an
// error wrapping codec.ErrCorrupt; a payload whose output does not fit in
// pcm is an error wrapping codec.ErrFrameSize.
func (d *Decoder) Decode(payload []byte, pcm []int16) (int, error) {
	if d.lib.c == nil {
		return 0, fmt.Errorf("g722 decode: %w", codec.ErrClosed)
	}
	if len(payload) == 0 {
		return 0, fmt.Errorf("%w: g722 decode of an empty payload", codec.ErrCorrupt)
	}
	if SamplesPerByte*len(payload) > len(pcm) {
		return 0, fmt.Errorf("%w: g722 payload of %d bytes needs %d samples, buffer holds %d",
			codec.ErrFrameSize, len(payload), SamplesPerByte*len(payload), len(pcm))
	}
	out := 0
	for len(payload) > 0 {
		n := min(len(payload), FrameBytes)
		m, err := d.lib.decode(payload[:n], d.narrow[:])
		if err != nil {
			return 0, err
		}
		if m != 2*n {
			return 0, fmt.Errorf("%w: g722 decoded %d bytes to %d samples, want %d", codec.ErrCorrupt, n, m, 2*n)
		}
		d.remember(d.narrow[:m])
		out += d.up.Process(d.narrow[:m], pcm[out:])
		payload = payload[n:]
	}
	d.heard, d.lost = true, 0
	return out, nil
}

// Conceal writes samples (at 48 kHz, a multiple of 3) of substitute audio
// for a lost packet into pcm: the last 20 ms decoded, backwards, fading to
// silence over the first 20 ms of the loss; silence after that, and
// before any packet was decoded (still through the resampler, so the
// transition is smooth).
func (d *Decoder) Conceal(pcm []int16, samples int) (int, error) {
	if d.lib.c == nil {
		return 0, fmt.Errorf("g722 conceal: %w", codec.ErrClosed)
	}
	if samples <= 0 || samples%factor != 0 || samples > len(pcm) {
		return 0, fmt.Errorf("%w: g722 conceal of %d samples into a buffer of %d (want a positive multiple of %d)",
			codec.ErrFrameSize, samples, len(pcm), factor)
	}
	narrow, lost := samples/factor, d.lost
	out := d.up.Synth(pcm, d.narrow[:narrowFrame], narrow, func(i int) int16 { return d.concealed(lost + i) })
	d.lost += narrow
	return out, nil
}

// concealed is the substitute 16 kHz sample at position t of a loss.
func (d *Decoder) concealed(t int) int16 {
	if !d.heard || t >= narrowFrame {
		return 0
	}
	s := float32(d.hist[narrowFrame-1-t]) * float32(narrowFrame-t) / narrowFrame
	return resample.Int16(s)
}

// remember appends decoded samples to the history.
func (d *Decoder) remember(s []int16) {
	if len(s) >= len(d.hist) {
		copy(d.hist[:], s[len(s)-len(d.hist):])
		return
	}
	copy(d.hist[:], d.hist[len(s):])
	copy(d.hist[len(d.hist)-len(s):], s)
}

// SampleRate is 48000.
func (d *Decoder) SampleRate() int { return SampleRate }

// Channels is 1.
func (d *Decoder) Channels() int { return 1 }

// Close frees the decoder; later calls fail with codec.ErrClosed.
func (d *Decoder) Close() error {
	d.lib.close()
	d.lib.c = nil
	return nil
}
