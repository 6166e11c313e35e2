package opus

/*
#cgo pkg-config: opus
#include <opus.h>

// The encoder's controls, one function each: opus_encoder_ctl is variadic,
// which cgo cannot call.
static int tessera_set_bitrate(OpusEncoder *st, opus_int32 v) { return opus_encoder_ctl(st, OPUS_SET_BITRATE(v)); }
static int tessera_set_inband_fec(OpusEncoder *st, opus_int32 v) { return opus_encoder_ctl(st, OPUS_SET_INBAND_FEC(v)); }
static int tessera_set_packet_loss(OpusEncoder *st, opus_int32 v) { return opus_encoder_ctl(st, OPUS_SET_PACKET_LOSS_PERC(v)); }
static int tessera_set_dtx(OpusEncoder *st, opus_int32 v) { return opus_encoder_ctl(st, OPUS_SET_DTX(v)); }
static int tessera_set_complexity(OpusEncoder *st, opus_int32 v) { return opus_encoder_ctl(st, OPUS_SET_COMPLEXITY(v)); }
static int tessera_set_prediction_disabled(OpusEncoder *st, opus_int32 v) { return opus_encoder_ctl(st, OPUS_SET_PREDICTION_DISABLED(v)); }
static int tessera_get_in_dtx(OpusEncoder *st, opus_int32 *v) { return opus_encoder_ctl(st, OPUS_GET_IN_DTX(v)); }
*/
import "C"

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	hopus "gopkg.in/hraban/opus.v2"

	"github.com/tessera-mcu/tessera/codec"
)

// MaxPacketBytes is enough room for any packet an Encoder produces (libopus
// recommends 4000 bytes; a 20 ms frame never exceeds 1275).
const MaxPacketBytes = 4000

// Bitrate limits accepted by NewEncoder and SetBitrate, in bits per second.
const (
	MinBitrate = 6000
	MaxBitrate = 510000
)

// Application tells libopus what kind of signal to optimise for.
type Application int

const (
	// VoIP favours speech intelligibility (the default).
	VoIP Application = iota
	// Audio favours faithfulness to the input, for music or mixed content.
	Audio
	// LowDelay uses the CELT layer only, saving about 4 ms of look-ahead at
	// the cost of speech quality at low bitrates.
	LowDelay
)

func (a Application) String() string {
	switch a {
	case VoIP:
		return "voip"
	case Audio:
		return "audio"
	case LowDelay:
		return "lowdelay"
	}
	return fmt.Sprintf("Application(%d)", int(a))
}

// EncoderConfig configures an Encoder. The zero value is 48 kHz mono VoIP,
// 20 ms frames, 32 kbit/s, without FEC or DTX.
type EncoderConfig struct {
	// SampleRate of the PCM given to Encode: 8000, 12000, 16000, 24000 or
	// 48000 Hz. 0 means 48000.
	SampleRate int
	// Channels is 1 or 2; 0 means 1.
	Channels int
	// Bitrate is the target in bits per second, MinBitrate..MaxBitrate.
	// 0 means 32000 per channel.
	Bitrate int
	// FrameDuration is 2.5, 5, 10, 20, 40, 60, 80, 100 or 120 ms; 0
	// means 20 ms.
	FrameDuration time.Duration
	// Application defaults to VoIP.
	Application Application
	// InbandFEC embeds a low-bitrate copy of each frame in the next packet
	// so that the receiver can rebuild a single lost packet (RecoverFEC).
	// libopus only does this in the SILK and hybrid modes and only when
	// PacketLossPercent is above zero; it spends part of the bitrate on it.
	InbandFEC bool
	// PacketLossPercent is the loss rate the encoder should expect, 0..100.
	// Higher values make it more robust and, with InbandFEC, spend more on
	// redundancy.
	PacketLossPercent int
	// DTX (discontinuous transmission) makes the encoder emit packets of
	// one or two bytes for frames of silence or background noise, with an
	// occasional comfort noise update. See InDTX and the package
	// documentation.
	DTX bool
	// Complexity trades CPU for quality, 1..10. 0 leaves the libopus
	// default (10 in libopus 1.3).
	Complexity int
}

// Encoder encodes interleaved int16 PCM into Opus packets. It binds
// libopus directly (the decoder goes through hraban/opus): the mixer needs
// a control that binding lacks, OPUS_SET_PREDICTION_DISABLED (see
// ForceKeyframe).
type Encoder struct {
	st      *C.OpusEncoder // nil once closed
	rate    int
	ch      int
	frame   int // samples per channel
	bitrate int
	keyNext bool
}

var _ codec.KeyframeForcer = (*Encoder)(nil)

// validFrameDuration reports whether d is a packet duration libopus
// encodes (RFC 6716 frames of 2.5 to 60 ms; 80 to 120 ms as several
// frames in one packet).
func validFrameDuration(d time.Duration) bool {
	switch d {
	case 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond,
		40 * time.Millisecond, 60 * time.Millisecond, 80 * time.Millisecond, 100 * time.Millisecond, 120 * time.Millisecond:
		return true
	}
	return false
}

func validRate(r int) bool {
	switch r {
	case 8000, 12000, 16000, 24000, 48000:
		return true
	}
	return false
}

// NewEncoder validates cfg and creates an encoder.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	if cfg.SampleRate == 0 {
		cfg.SampleRate = 48000
	}
	if cfg.Channels == 0 {
		cfg.Channels = 1
	}
	if cfg.FrameDuration == 0 {
		cfg.FrameDuration = 20 * time.Millisecond
	}
	if cfg.Bitrate == 0 {
		cfg.Bitrate = 32000 * cfg.Channels
	}
	if !validRate(cfg.SampleRate) {
		return nil, fmt.Errorf("%w: opus sample rate %d Hz (want 8000, 12000, 16000, 24000 or 48000)", codec.ErrInvalidConfig, cfg.SampleRate)
	}
	if cfg.Channels != 1 && cfg.Channels != 2 {
		return nil, fmt.Errorf("%w: opus channels %d (want 1 or 2)", codec.ErrInvalidConfig, cfg.Channels)
	}
	if err := checkBitrate(cfg.Bitrate); err != nil {
		return nil, err
	}
	if !validFrameDuration(cfg.FrameDuration) {
		return nil, fmt.Errorf("%w: opus frame duration %v (want 2.5, 5, 10, 20, 40, 60, 80, 100 or 120 ms)", codec.ErrInvalidConfig, cfg.FrameDuration)
	}
	var app C.int
	switch cfg.Application {
	case VoIP:
		app = C.OPUS_APPLICATION_VOIP
	case Audio:
		app = C.OPUS_APPLICATION_AUDIO
	case LowDelay:
		app = C.OPUS_APPLICATION_RESTRICTED_LOWDELAY
	default:
		return nil, fmt.Errorf("%w: opus application %v", codec.ErrInvalidConfig, cfg.Application)
	}
	if cfg.PacketLossPercent < 0 || cfg.PacketLossPercent > 100 {
		return nil, fmt.Errorf("%w: opus packet loss %d%% (want 0..100)", codec.ErrInvalidConfig, cfg.PacketLossPercent)
	}
	if cfg.Complexity < 0 || cfg.Complexity > 10 {
		return nil, fmt.Errorf("%w: opus complexity %d (want 1..10, or 0 for the default)", codec.ErrInvalidConfig, cfg.Complexity)
	}

	var errc C.int
	st := C.opus_encoder_create(C.opus_int32(cfg.SampleRate), C.int(cfg.Channels), app, &errc)
	if errc != C.OPUS_OK || st == nil {
		return nil, opusError("create encoder", errc)
	}
	e := &Encoder{
		st:      st,
		rate:    cfg.SampleRate,
		ch:      cfg.Channels,
		frame:   int(int64(cfg.SampleRate) * int64(cfg.FrameDuration) / int64(time.Second)),
		bitrate: cfg.Bitrate,
	}
	steps := []struct {
		what string
		set  func() C.int
	}{
		{"set bitrate", func() C.int { return C.tessera_set_bitrate(st, C.opus_int32(cfg.Bitrate)) }},
		{"set inband FEC", func() C.int { return C.tessera_set_inband_fec(st, cbool(cfg.InbandFEC)) }},
		{"set packet loss", func() C.int { return C.tessera_set_packet_loss(st, C.opus_int32(cfg.PacketLossPercent)) }},
		{"set DTX", func() C.int { return C.tessera_set_dtx(st, cbool(cfg.DTX)) }},
		{"set complexity", func() C.int {
			if cfg.Complexity == 0 {
				return C.OPUS_OK // libopus's default
			}
			return C.tessera_set_complexity(st, C.opus_int32(cfg.Complexity))
		}},
	}
	for _, s := range steps {
		if rc := s.set(); rc != C.OPUS_OK {
			e.Close()
			return nil, opusError(s.what, rc)
		}
	}
	return e, nil
}

func cbool(b bool) C.opus_int32 {
	if b {
		return 1
	}
	return 0
}

func checkBitrate(bps int) error {
	return codec.CheckBitrate("opus", bps, MinBitrate, MaxBitrate)
}

// Encode encodes one frame of interleaved PCM (exactly
// FrameSamples()*Channels() samples) into dst and returns the packet size.
// With DTX on, a result of 1 or 2 bytes is a frame the sender need not
// transmit.
func (e *Encoder) Encode(pcm []int16, dst []byte) (int, error) {
	if e.st == nil {
		return 0, fmt.Errorf("opus encode: %w", codec.ErrClosed)
	}
	if len(pcm) != e.frame*e.ch {
		return 0, fmt.Errorf("%w: opus encode got %d samples, want %d (%d per channel x %d)", codec.ErrFrameSize, len(pcm), e.frame*e.ch, e.frame, e.ch)
	}
	if len(dst) == 0 {
		return 0, fmt.Errorf("%w: opus encode into an empty buffer", codec.ErrFrameSize)
	}
	if e.keyNext {
		if rc := C.tessera_set_prediction_disabled(e.st, 1); rc != C.OPUS_OK {
			return 0, opusError("disable prediction", rc)
		}
	}
	n := C.opus_encode(e.st, (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(e.frame),
		(*C.uchar)(unsafe.Pointer(&dst[0])), C.opus_int32(len(dst)))
	if e.keyNext {
		if rc := C.tessera_set_prediction_disabled(e.st, 0); rc != C.OPUS_OK {
			return 0, opusError("enable prediction", rc)
		}
	}
	if n < 0 {
		return 0, opusError("encode", C.int(n)) // the keyframe is still owed
	}
	e.keyNext = false
	return int(n), nil
}

// ForceKeyframe makes the next frame decodable on its own: coded without
// inter-frame prediction, it sounds right to a decoder whose state came
// from another stream. A mixer calls it when listeners move to this
// encoder's stream from another (their decoders carry the other's state),
// at the cost of a few more bits in that one frame.
func (e *Encoder) ForceKeyframe() { e.keyNext = true }

// SetBitrate changes the target bitrate, in bits per second, from the next
// frame on.
func (e *Encoder) SetBitrate(bps int) error {
	if e.st == nil {
		return fmt.Errorf("opus set bitrate: %w", codec.ErrClosed)
	}
	if err := checkBitrate(bps); err != nil {
		return err
	}
	if rc := C.tessera_set_bitrate(e.st, C.opus_int32(bps)); rc != C.OPUS_OK {
		return opusError("set bitrate", rc)
	}
	e.bitrate = bps
	return nil
}

// Bitrate is the current target in bits per second.
func (e *Encoder) Bitrate() int { return e.bitrate }

// InDTX reports whether the last encoded frame was a DTX frame: either one
// not worth transmitting or a comfort noise update. It is false when DTX is
// off or the encoder is closed.
func (e *Encoder) InDTX() bool {
	if e.st == nil {
		return false
	}
	var in C.opus_int32
	return C.tessera_get_in_dtx(e.st, &in) == C.OPUS_OK && in != 0
}

// SampleRate is the PCM rate in Hz.
func (e *Encoder) SampleRate() int { return e.rate }

// Channels is 1 or 2.
func (e *Encoder) Channels() int { return e.ch }

// FrameSamples is the number of samples per channel in one frame.
func (e *Encoder) FrameSamples() int { return e.frame }

// Close frees the encoder; it may be called more than once.
func (e *Encoder) Close() error {
	if e.st != nil {
		C.opus_encoder_destroy(e.st)
		e.st = nil
	}
	return nil
}

// opusError maps a libopus error code to the codec sentinels.
func opusError(op string, rc C.int) error {
	return fmt.Errorf("%w: opus %s: %s", sentinel(int(rc)), op, C.GoString(C.opus_strerror(rc)))
}

// libError maps an error from the binding to the codec sentinels, keeping
// the binding's error in the chain as well.
func libError(op string, err error) error {
	s := codec.ErrLibrary
	var oe hopus.Error
	if errors.As(err, &oe) {
		s = sentinel(int(oe))
	}
	return fmt.Errorf("%w: opus %s: %w", s, op, err)
}

// sentinel is the codec error for a libopus error code.
func sentinel(code int) error {
	switch code {
	case C.OPUS_INVALID_PACKET:
		return codec.ErrCorrupt
	case C.OPUS_BUFFER_TOO_SMALL:
		return codec.ErrFrameSize
	case C.OPUS_BAD_ARG:
		return codec.ErrInvalidConfig
	}
	return codec.ErrLibrary
}
