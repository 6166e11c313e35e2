package room

import (
	"fmt"

	"github.com/tessera-mcu/tessera/codec/g711"
	"github.com/tessera-mcu/tessera/codec/opus"
	"github.com/tessera-mcu/tessera/mixer"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// Audio codecs of microphones and mixes (see endpoint.Media.AudioCodec).
const (
	CodecOpus = endpoint.CodecOpus
	CodecPCMU = endpoint.CodecPCMU
	CodecPCMA = endpoint.CodecPCMA
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
		return micCodec{name: name, scale: mixer.SampleRate / 8000, samples: g711Samples, newDecoder: func() (audioDecoder, error) {
			d, err := g711.NewDecoder(law)
			if err != nil {
				return nil, err
			}
			return g711Decoder{d}, nil
		}}, nil
	}
	return micCodec{}, fmt.Errorf("%w: audio codec %q", ErrInvalidValue, name)
}

// g711Samples is the duration of a G.711 payload at 48 kHz: six samples a
// byte. An empty or oversized payload counts as one 20 ms frame (its
// decoding fails and is concealed).
func g711Samples(payload []byte) int {
	n := len(payload) * (mixer.SampleRate / 8000)
	if n == 0 || n > g711.MaxFrameSamples {
		return mixer.FrameSamples
	}
	return n
}

// g711Decoder is a G.711 decoder as an audioDecoder: G.711 has no forward
// error correction, so a packet to recover is concealed.
type g711Decoder struct{ *g711.Decoder }

func (d g711Decoder) RecoverFEC(_ []byte, pcm []int16, samples int) (int, error) {
	return d.Conceal(pcm, samples)
}

// mixCodecFor checks the codec a listener's mix is sent in ("" is Opus).
func mixCodecFor(name string) (string, error) {
	switch name {
	case "", CodecOpus:
		return CodecOpus, nil
	case CodecPCMU, CodecPCMA:
		return name, nil
	}
	return "", fmt.Errorf("%w: audio codec %q", ErrInvalidValue, name)
}

// g711Key is one mix in one G.711 law.
type g711Key struct {
	mix mixer.MixID
	law string
}

// g711Mix returns this tick's G.711 payload of a mix, encoding it the
// first time a listener asks for it this tick. Each (mix, law) keeps its
// encoder, and so its resampler's state, from tick to tick while used.
func (r *Room) g711Mix(id mixer.MixID, law string, pcm []int16) ([]byte, bool) {
	k := g711Key{id, law}
	if data, ok := r.g711Packets[k]; ok {
		return data, data != nil
	}
	enc := r.g711Encoders[k]
	if enc == nil {
		l := g711.ULaw
		if law == CodecPCMA {
			l = g711.ALaw
		}
		var err error
		if enc, err = g711.NewEncoder(l); err != nil {
			r.g711Packets[k] = nil
			return nil, false
		}
		if r.g711Encoders == nil {
			r.g711Encoders = make(map[g711Key]*g711.Encoder)
		}
		r.g711Encoders[k] = enc
	}
	data := make([]byte, g711.FrameBytes)
	if _, err := enc.Encode(pcm, data); err != nil {
		r.stats.encodeErrors.Add(1)
		r.errLog.encode.Warn(r.log, "audio encode failed", "err", err, "errors", r.stats.encodeErrors.Load())
		r.g711Packets[k] = nil
		return nil, false
	}
	r.g711Packets[k] = data
	return data, true
}

// dropIdleG711 frees the G.711 encoders of mixes nobody heard this tick.
func (r *Room) dropIdleG711() {
	for k, enc := range r.g711Encoders {
		if _, used := r.g711Packets[k]; !used {
			_ = enc.Close()
			delete(r.g711Encoders, k)
		}
	}
}

// opusMic is the codec of a WebRTC microphone.
func opusMic() micCodec {
	c, _ := micCodecFor(CodecOpus)
	return c
}
