package rtmp

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/tessera-mcu/tessera/codec/aac"
)

// Defaults of Options.
const (
	DefaultAudioBitrate = aac.DefaultBitrate
	DefaultQueueSize    = 256
	DefaultMinBackoff   = time.Second
	DefaultMaxBackoff   = 30 * time.Second
	DefaultDialTimeout  = 10 * time.Second
	DefaultWriteTimeout = 10 * time.Second
)

// drainTimeout bounds how long Close spends sending what is still queued.
const drainTimeout = 2 * time.Second

// Options configure a Pusher. The zero value is usable: AAC at 128 kbit/s,
// a queue of 256 frames, reconnects after 1 s doubling up to 30 s.
type Options struct {
	// AudioBitrate is the AAC-LC target in bits per second
	// (aac.MinBitrate..aac.MaxBitrate); 0 means DefaultAudioBitrate.
	AudioBitrate int
	// QueueSize is how many frames (video access units and 20 ms audio
	// chunks together) wait between Write* and the network before Write*
	// drops; 0 means DefaultQueueSize, about three seconds of a 30 fps
	// stream with its audio.
	QueueSize int
	// MinBackoff is the wait before the first reconnect; each failed
	// attempt doubles it up to MaxBackoff. A connection that streamed for
	// StableAfter resets it. 0 means the defaults.
	MinBackoff, MaxBackoff time.Duration
	// DialTimeout bounds one connection attempt: TCP (and TLS for
	// rtmps://), the RTMP handshake, connect and publish. 0 means
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// WriteTimeout bounds one write to the ingest; a slower one counts as
	// a lost connection. 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// TLSConfig is used for rtmps:// URLs; nil means the system's roots
	// and the URL's host name.
	TLSConfig *tls.Config
	// RequestKeyframe, if set, is called (from the Pusher's goroutine; it
	// must not block) when the Pusher needs a keyframe to start or resume
	// on: after each connect and after it dropped video.
	RequestKeyframe func()
	// OnState, if set, is called with every state change, in order, from
	// the Pusher's goroutine; it must not block for long.
	OnState func(StateChange)
	// Logger receives state changes and rate-limited warnings; nil means
	// slog.Default().
	Logger *slog.Logger
}

// stableAfter is how long a connection must have streamed for the next
// reconnect to start again from MinBackoff.
const stableAfter = 10 * time.Second

func (o *Options) setDefaults() {
	if o.AudioBitrate == 0 {
		o.AudioBitrate = DefaultAudioBitrate
	}
	if o.QueueSize == 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

func (o *Options) validate() error {
	switch {
	case o.QueueSize < 2:
		return fmt.Errorf("%w: queue size %d (want at least 2)", ErrBadOptions, o.QueueSize)
	case o.MinBackoff < 0 || o.MaxBackoff < o.MinBackoff:
		return fmt.Errorf("%w: backoff %v..%v", ErrBadOptions, o.MinBackoff, o.MaxBackoff)
	case o.DialTimeout < 0 || o.WriteTimeout < 0:
		return fmt.Errorf("%w: negative timeout", ErrBadOptions)
	}
	return nil
}
