package room

import (
	"fmt"

	"github.com/tessera-mcu/tessera/codec/g711"
	"github.com/tessera-mcu/tessera/codec/g722"
	"github.com/tessera-mcu/tessera/codec/opus"
	"github.com/tessera-mcu/tessera/mixer"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// Audio codecs of microphones and mixes (see endpoint.Media.AudioCodec).
const (
	CodecOpus = endpoint.CodecOpus
	CodecPCMU = endpoint.CodecPCMU
	CodecPCMA = endpoint.CodecPCMA
	CodecG722 = endpoint.CodecG722
)

// audioDecoder decodes one microphone to 48 kHz mono PCM: a packet, a
// packet recovered from the forward error correction of the next one,
// or concealment of a lost one.
type audioDecoder interface {
	Decode(payload []byte, pcm []int16) (int, error)
	RecoverFEC(next []byte, pcm []int16, samples int) (int, error)
	Conceal(pcm []int16, samples int) (int, error)
	Close() error
}

// micCodec is what the room needs to know of a microphone's codec.
type micCodec struct {
	name string
	// scale turns the codec's RTP timestamps into 48 kHz ones.
	scale uint32
	// samples is a packet's duration at 48 kHz.
	samples    func(payload []byte) int
	newDecoder func() (audioDecoder, error)
}

// micCodecFor returns the codec a microphone sends in ("" is Opus).
func micCodecFor(name string) (micCodec, error) {
	switch name {
	case "", CodecOpus:
		return micCodec{name: CodecOpus, scale: 1, samples: opusSamples, newDecoder: func() (audioDecoder, error) {
			return opus.NewDecoder(mixer.SampleRate, 1)
		}}, nil
	case CodecPCMU, CodecPCMA:
		law := g711.ULaw
		if name == CodecPCMA {
			law = g711.ALaw
		}
		return micCodec{name: name, scale: mixer.SampleRate / 8000, samples: byteSamples, newDecoder: func() (audioDecoder, error) {
			d, err := g711.NewDecoder(law)
			if err != nil {
				return nil, err
			}
			return noFEC{d}, nil
		}}, nil
	case CodecG722:
		// RFC 3551 section 4.5.2: G.722's RTP clock is 8000 although it
		// samples at 16 kHz, so its timestamps, like G.711's, count bytes.
		return micCodec{name: name, scale: mixer.SampleRate / 8000, samples: byteSamples, newDecoder: func() (audioDecoder, error) {
			d, err := g722.NewDecoder()
			if err != nil {
				return nil, err
			}
			return noFEC{d}, nil
		}}, nil
	}
	return micCodec{}, fmt.Errorf("%w: audio codec %q", ErrInvalidValue, name)
}

// byteSamples is the duration at 48 kHz of a G.711 or G.722 payload: six
// samples a byte (one byte is 125 µs of either). An empty or oversized
// payload counts as one 20 ms frame (its decoding fails and is
// concealed).
func byteSamples(payload []byte) int {
	n := len(payload) * (mixer.SampleRate / 8000)
	if n == 0 || n > g711.MaxFrameSamples {
		return mixer.FrameSamples
	}
	return n
}

// plainDecoder is a decoder without forward error correction.
type plainDecoder interface {
	Decode(payload []byte, pcm []int16) (int, error)
	Conceal(pcm []int16, samples int) (int, error)
	Close() error
}

// noFEC is a decoder without forward error correction as an
// audioDecoder: a packet to recover is concealed.
type noFEC struct{ plainDecoder }

func (d noFEC) RecoverFEC(_ []byte, pcm []int16, samples int) (int, error) {
	return d.Conceal(pcm, samples)
}

// mixCodecFor checks the codec a listener's mix is sent in ("" is Opus).
func mixCodecFor(name string) (string, error) {
	switch name {
	case "", CodecOpus:
		return CodecOpus, nil
	case CodecPCMU, CodecPCMA, CodecG722:
		return name, nil
	}
	return "", fmt.Errorf("%w: audio codec %q", ErrInvalidValue, name)
}

// mixEncoder encodes 20 ms of a mix in a listener's codec other than
// Opus (Opus mixes have their own encoders, see encoderFor).
type mixEncoder interface {
	Encode(pcm []int16, dst []byte) (int, error)
	Close() error
}

// newMixEncoder returns the encoder of a codec other than Opus and the
// size of its 20 ms payload.
func newMixEncoder(name string) (mixEncoder, int, error) {
	switch name {
	case CodecPCMU:
		e, err := g711.NewEncoder(g711.ULaw)
		return e, g711.FrameBytes, err
	case CodecPCMA:
		e, err := g711.NewEncoder(g711.ALaw)
		return e, g711.FrameBytes, err
	case CodecG722:
		e, err := g722.NewEncoder()
		return e, g722.FrameBytes, err
	}
	return nil, 0, fmt.Errorf("%w: no mix encoder for audio codec %q", ErrInvalidValue, name)
}

// codecMixKey is one mix in one codec other than Opus.
type codecMixKey struct {
	mix   mixer.MixID
	codec string
}

// codecMixEncoder is the encoder of one codecMixKey and its payload size.
type codecMixEncoder struct {
	enc   mixEncoder
	bytes int
}

// codecMix returns this tick's payload of a mix in a codec other than
// Opus, encoding it the first time a listener asks for it this tick. Each
// (mix, codec) keeps its encoder, and so its resampler's state, from tick
// to tick while used.
func (r *Room) codecMix(id mixer.MixID, codec string, pcm []int16) ([]byte, bool) {
	k := codecMixKey{id, codec}
	if data, ok := r.codecPackets[k]; ok {
		return data, data != nil
	}
	e, ok := r.codecEncoders[k]
	if !ok {
		enc, n, err := newMixEncoder(codec)
		if err != nil {
			r.stats.encodeErrors.Add(1)
			r.errLog.encode.Warn(r.log, "audio encoder failed to open", "codec", codec, "err", err, "errors", r.stats.encodeErrors.Load())
			r.codecPackets[k] = nil
			return nil, false
		}
		e = codecMixEncoder{enc, n}
		if r.codecEncoders == nil {
			r.codecEncoders = make(map[codecMixKey]codecMixEncoder)
		}
		r.codecEncoders[k] = e
	}
	data := make([]byte, e.bytes)
	n, err := e.enc.Encode(pcm, data)
	if err != nil {
		r.stats.encodeErrors.Add(1)
		r.errLog.encode.Warn(r.log, "audio encode failed", "codec", codec, "err", err, "errors", r.stats.encodeErrors.Load())
		r.codecPackets[k] = nil
		return nil, false
	}
	r.codecPackets[k] = data[:n]
	return data[:n], true
}

// dropIdleCodecMixes frees the encoders of codec mixes nobody heard this
// tick.
func (r *Room) dropIdleCodecMixes() {
	for k, e := range r.codecEncoders {
		if _, used := r.codecPackets[k]; !used {
			_ = e.enc.Close()
			delete(r.codecEncoders, k)
		}
	}
}

// opusMic is the codec of a WebRTC microphone.
func opusMic() micCodec {
	c, _ := micCodecFor(CodecOpus)
	return c
}
