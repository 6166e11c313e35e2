package opus

import (
	"fmt"

	hopus "gopkg.in/hraban/opus.v2"

	"github.com/tessera-mcu/tessera/codec"
)

// MaxFrameSamples is the longest duration one Opus packet can carry, 120 ms,
// in samples per channel at 48 kHz. A pcm buffer of MaxFrameSamples*channels
// can take any packet.
const MaxFrameSamples = 5760

// Decoder decodes Opus packets into interleaved int16 PCM.
type Decoder struct {
	dec      *hopus.Decoder
	ch       int
	quantum  int // 2.5 ms in samples: libopus conceals in multiples of it
	maxFrame int // 120 ms in samples
	last     int // samples per channel of the last decoded or concealed frame
	closed   bool
}

// NewDecoder creates a decoder producing sampleRate Hz PCM (8000, 12000,
// 16000, 24000 or 48000) with 1 or 2 channels. Opus packets can be decoded
// at any of these rates and channel counts, whatever they were encoded
// with.
func NewDecoder(sampleRate, channels int) (*Decoder, error) {
	if !validRate(sampleRate) {
		return nil, fmt.Errorf("%w: opus sample rate %d Hz (want 8000, 12000, 16000, 24000 or 48000)", codec.ErrInvalidConfig, sampleRate)
	}
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("%w: opus channels %d (want 1 or 2)", codec.ErrInvalidConfig, channels)
	}
	dec, err := hopus.NewDecoder(sampleRate, channels)
	if err != nil {
		return nil, libError("create decoder", err)
	}
	return &Decoder{
		dec:      dec,
		ch:       channels,
		quantum:  sampleRate / 400,
		maxFrame: sampleRate * 120 / 1000,
		last:     sampleRate / 50,
	}, nil
}

// Decode decodes one packet into pcm and returns the samples per channel
// written. An empty or malformed payload is an error wrapping
// codec.ErrCorrupt; a pcm buffer too short for the packet's duration is an
// error wrapping codec.ErrFrameSize.
func (d *Decoder) Decode(payload []byte, pcm []int16) (int, error) {
	if d.closed {
		return 0, fmt.Errorf("opus decode: %w", codec.ErrClosed)
	}
	if len(payload) == 0 {
		return 0, fmt.Errorf("%w: opus decode of an empty payload", codec.ErrCorrupt)
	}
	out := d.whole(pcm, len(pcm)/d.ch)
	if len(out) == 0 {
		return 0, fmt.Errorf("%w: opus decode into a buffer of %d samples", codec.ErrFrameSize, len(pcm))
	}
	n, err := d.dec.Decode(payload, out)
	if err != nil {
		return 0, libError("decode", err)
	}
	d.last = n
	return n, nil
}

// Conceal synthesises samples (per channel) of audio for a packet that never
// arrived, continuing from what was decoded before (packet loss
// concealment). samples must be a multiple of 2.5 ms and at most 120 ms;
// LastSamples is the usual choice. Repeated calls fade out towards silence.
func (d *Decoder) Conceal(pcm []int16, samples int) (int, error) {
	if d.closed {
		return 0, fmt.Errorf("opus conceal: %w", codec.ErrClosed)
	}
	if err := d.checkSpan("conceal", pcm, samples); err != nil {
		return 0, err
	}
	if err := d.dec.DecodePLC(d.whole(pcm, samples)); err != nil {
		return 0, libError("conceal", err)
	}
	d.last = samples
	return samples, nil
}

// RecoverFEC rebuilds the frame lost just before next from the redundant
// copy carried in next, writing samples (per channel; the lost frame's
// duration, normally LastSamples) into pcm. Decode next afterwards as
// usual. When next carries no FEC data (the sender has FEC off, or next is
// a CELT-only packet) libopus falls back to concealment, so the result is
// never worse than Conceal's.
func (d *Decoder) RecoverFEC(next []byte, pcm []int16, samples int) (int, error) {
	if d.closed {
		return 0, fmt.Errorf("opus FEC: %w", codec.ErrClosed)
	}
	if len(next) == 0 {
		return 0, fmt.Errorf("%w: opus FEC from an empty payload", codec.ErrCorrupt)
	}
	if err := d.checkSpan("FEC", pcm, samples); err != nil {
		return 0, err
	}
	if err := d.dec.DecodeFEC(next, d.whole(pcm, samples)); err != nil {
		return 0, libError("FEC", err)
	}
	d.last = samples
	return samples, nil
}

func (d *Decoder) checkSpan(op string, pcm []int16, samples int) error {
	if samples <= 0 || samples > d.maxFrame || samples%d.quantum != 0 {
		return fmt.Errorf("%w: opus %s of %d samples (want a multiple of %d up to %d)", codec.ErrFrameSize, op, samples, d.quantum, d.maxFrame)
	}
	if len(pcm) < samples*d.ch {
		return fmt.Errorf("%w: opus %s of %d samples into a buffer of %d", codec.ErrFrameSize, op, samples*d.ch, len(pcm))
	}
	return nil
}

// whole returns the first samples frames of pcm with its capacity cut to
// match: the binding takes cap(pcm) as the number of samples to produce
// (for concealment and FEC) or the space available (for decoding).
func (d *Decoder) whole(pcm []int16, samples int) []int16 {
	n := samples * d.ch
	return pcm[:n:n]
}

// LastSamples is the duration, in samples per channel, of the last frame
// decoded or concealed (20 ms before the first). It is the right amount to
// ask Conceal or RecoverFEC for when one packet is lost.
func (d *Decoder) LastSamples() int { return d.last }

// Channels is 1 or 2.
func (d *Decoder) Channels() int { return d.ch }

// Close releases the decoder. The libopus state lives in Go memory, so this
// only marks the decoder unusable.
func (d *Decoder) Close() error {
	d.closed = true
	d.dec = nil
	return nil
}
