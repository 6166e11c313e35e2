package sip

import (
	"fmt"

	"github.com/tessera-mcu/tessera/codec/g711"
	"github.com/tessera-mcu/tessera/codec/g722"
	"github.com/tessera-mcu/tessera/codec/opus"
	"github.com/tessera-mcu/tessera/room/endpoint"
	"github.com/tessera-mcu/tessera/room/plainrtp"
)

// PCMWriter sends Tessera's own audio to a caller: 20 ms frames of
// 48 kHz mono PCM, encoded in the call's codec.
type PCMWriter interface {
	// WritePCM encodes and sends one 20 ms frame (960 samples).
	WritePCM(pcm []int16) error
	// Close frees the encoder; it is safe to call more than once.
	Close() error
}

// frameEncoder is a codec encoder of 48 kHz mono frames (g711 and opus
// Encoders are).
type frameEncoder interface {
	Encode(pcm []int16, dst []byte) (int, error)
	Close() error
}

// sessionPCM is a PCMWriter into a plain-RTP session. Its encoder
// follows the session's codec, which a re-INVITE may change.
type sessionPCM struct {
	s    *plainrtp.Session
	name string
	enc  frameEncoder
	buf  []byte
}

var _ PCMWriter = (*sessionPCM)(nil)

func (w *sessionPCM) WritePCM(pcm []int16) error {
	if name := w.s.Codec().Name; w.enc == nil || name != w.name {
		if w.enc != nil {
			_ = w.enc.Close()
			w.enc = nil
		}
		enc, err := newFrameEncoder(name)
		if err != nil {
			return err
		}
		w.enc, w.name = enc, name
	}
	n, err := w.enc.Encode(pcm, w.buf[:cap(w.buf)])
	if err != nil {
		return fmt.Errorf("sip: encoding the prompt: %w", err)
	}
	return w.s.WriteFrame(endpoint.Frame{Data: w.buf[:n]})
}

func (w *sessionPCM) Close() error {
	if w.enc != nil {
		err := w.enc.Close()
		w.enc = nil
		return err
	}
	return nil
}

// newFrameEncoder is the encoder of a plain-RTP codec.
func newFrameEncoder(name string) (frameEncoder, error) {
	switch name {
	case endpoint.CodecPCMU:
		return g711.NewEncoder(g711.ULaw)
	case endpoint.CodecPCMA:
		return g711.NewEncoder(g711.ALaw)
	case endpoint.CodecG722:
		return g722.NewEncoder()
	case endpoint.CodecOpus:
		return opus.NewEncoder(opus.EncoderConfig{})
	}
	return nil, fmt.Errorf("%w: no encoder for codec %q", endpoint.ErrNoMedia, name)
}
