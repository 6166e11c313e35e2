package opus

import (
	"errors"
	"fmt"
	"time"

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
	// FrameDuration is 10, 20, 40 or 60 ms; 0 means 20 ms.
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

// Encoder encodes interleaved int16 PCM into Opus packets.
type Encoder struct {
	enc     *hopus.Encoder
	rate    int
	ch      int
	frame   int // samples per channel
	bitrate int
	closed  bool
}

var (
	_ codec.AudioEncoder  = (*Encoder)(nil)
	_ codec.BitrateSetter = (*Encoder)(nil)
)

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
	switch cfg.FrameDuration {
	case 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond:
	default:
		return nil, fmt.Errorf("%w: opus frame duration %v (want 10, 20, 40 or 60 ms)", codec.ErrInvalidConfig, cfg.FrameDuration)
	}
	var app hopus.Application
	switch cfg.Application {
	case VoIP:
		app = hopus.AppVoIP
	case Audio:
		app = hopus.AppAudio
	case LowDelay:
		app = hopus.AppRestrictedLowdelay
	default:
		return nil, fmt.Errorf("%w: opus application %v", codec.ErrInvalidConfig, cfg.Application)
	}
	if cfg.PacketLossPercent < 0 || cfg.PacketLossPercent > 100 {
		return nil, fmt.Errorf("%w: opus packet loss %d%% (want 0..100)", codec.ErrInvalidConfig, cfg.PacketLossPercent)
	}
	if cfg.Complexity < 0 || cfg.Complexity > 10 {
		return nil, fmt.Errorf("%w: opus complexity %d (want 1..10, or 0 for the default)", codec.ErrInvalidConfig, cfg.Complexity)
	}

	enc, err := hopus.NewEncoder(cfg.SampleRate, cfg.Channels, app)
	if err != nil {
		return nil, libError("create encoder", err)
	}
	e := &Encoder{
		enc:     enc,
		rate:    cfg.SampleRate,
		ch:      cfg.Channels,
		frame:   int(int64(cfg.SampleRate) * int64(cfg.FrameDuration) / int64(time.Second)),
		bitrate: cfg.Bitrate,
	}
	steps := []struct {
		what string
		err  func() error
	}{
		{"set bitrate", func() error { return enc.SetBitrate(cfg.Bitrate) }},
		{"set inband FEC", func() error { return enc.SetInBandFEC(cfg.InbandFEC) }},
		{"set packet loss", func() error { return enc.SetPacketLossPerc(cfg.PacketLossPercent) }},
		{"set DTX", func() error { return enc.SetDTX(cfg.DTX) }},
		{"set complexity", func() error {
			if cfg.Complexity == 0 {
				return nil
			}
			return enc.SetComplexity(cfg.Complexity)
		}},
	}
	for _, s := range steps {
		if err := s.err(); err != nil {
			return nil, libError(s.what, err)
		}
	}
	return e, nil
}

func checkBitrate(bps int) error {
	if bps < MinBitrate || bps > MaxBitrate {
		return fmt.Errorf("%w: opus bitrate %d bps (want %d..%d)", codec.ErrInvalidConfig, bps, MinBitrate, MaxBitrate)
	}
	return nil
}

// Encode encodes one frame of interleaved PCM (exactly
// FrameSamples()*Channels() samples) into dst and returns the packet size.
// With DTX on, a result of 1 or 2 bytes is a frame the sender need not
// transmit.
func (e *Encoder) Encode(pcm []int16, dst []byte) (int, error) {
	if e.closed {
		return 0, fmt.Errorf("opus encode: %w", codec.ErrClosed)
	}
	if len(pcm) != e.frame*e.ch {
		return 0, fmt.Errorf("%w: opus encode got %d samples, want %d (%d per channel x %d)", codec.ErrFrameSize, len(pcm), e.frame*e.ch, e.frame, e.ch)
	}
	if len(dst) == 0 {
		return 0, fmt.Errorf("%w: opus encode into an empty buffer", codec.ErrFrameSize)
	}
	// The binding passes cap(dst) to libopus as the space available; cap
	// it at len so nothing beyond dst[:len(dst)] is ever written.
	n, err := e.enc.Encode(pcm, dst[:len(dst):len(dst)])
	if err != nil {
		return 0, libError("encode", err)
	}
	return n, nil
}

// SetBitrate changes the target bitrate, in bits per second, from the next
// frame on.
func (e *Encoder) SetBitrate(bps int) error {
	if e.closed {
		return fmt.Errorf("opus set bitrate: %w", codec.ErrClosed)
	}
	if err := checkBitrate(bps); err != nil {
		return err
	}
	if err := e.enc.SetBitrate(bps); err != nil {
		return libError("set bitrate", err)
	}
	e.bitrate = bps
	return nil
}

// Bitrate is the current target in bits per second.
func (e *Encoder) Bitrate() int { return e.bitrate }

// SetPacketLossPercent updates the expected loss rate (0..100), for example
// from RTCP receiver reports, so that FEC follows the network.
func (e *Encoder) SetPacketLossPercent(p int) error {
	if e.closed {
		return fmt.Errorf("opus set packet loss: %w", codec.ErrClosed)
	}
	if p < 0 || p > 100 {
		return fmt.Errorf("%w: opus packet loss %d%% (want 0..100)", codec.ErrInvalidConfig, p)
	}
	if err := e.enc.SetPacketLossPerc(p); err != nil {
		return libError("set packet loss", err)
	}
	return nil
}

// InDTX reports whether the last encoded frame was a DTX frame: either one
// not worth transmitting or a comfort noise update. It is false when DTX is
// off or the encoder is closed.
func (e *Encoder) InDTX() bool {
	if e.closed {
		return false
	}
	in, err := e.enc.InDTX()
	return err == nil && in
}

// SampleRate is the PCM rate in Hz.
func (e *Encoder) SampleRate() int { return e.rate }

// Channels is 1 or 2.
func (e *Encoder) Channels() int { return e.ch }

// FrameSamples is the number of samples per channel in one frame.
func (e *Encoder) FrameSamples() int { return e.frame }

// Close releases the encoder. The libopus state lives in Go memory, so this
// only marks the encoder unusable.
func (e *Encoder) Close() error {
	e.closed = true
	e.enc = nil
	return nil
}

// libError maps an error from the binding to the codec sentinels, keeping
// the binding's error in the chain as well.
func libError(op string, err error) error {
	var oe hopus.Error
	if errors.As(err, &oe) {
		switch oe {
		case hopus.ErrInvalidPacket:
			return fmt.Errorf("%w: opus %s: %w", codec.ErrCorrupt, op, err)
		case hopus.ErrBufferTooSmall:
			return fmt.Errorf("%w: opus %s: %w", codec.ErrFrameSize, op, err)
		case hopus.ErrBadArg:
			return fmt.Errorf("%w: opus %s: %w", codec.ErrInvalidConfig, op, err)
		}
	}
	return fmt.Errorf("%w: opus %s: %w", codec.ErrLibrary, op, err)
}
