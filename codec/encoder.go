package codec

import (
	"fmt"
	"math"
	"sync/atomic"
)

// VideoLimits are the settings a video encoder accepts. An adapter
// declares its own and checks its configuration, each SetBitrate and each
// picture against them, so that every encoder reports a setting out of
// range the same way: ErrInvalidConfig, or ErrFrameSize for a picture.
type VideoLimits struct {
	// Codec names the encoder in error messages ("h264", "vp8").
	Codec string
	// MaxWidth and MaxHeight bound the picture size; the smallest is 1x1.
	MaxWidth, MaxHeight int
	// EvenSize requires an even width and height.
	EvenSize bool
	// MaxFPS bounds the frame rate; the lowest is 1.
	MaxFPS int
	// MinBitrate and MaxBitrate bound the target, in bits per second.
	MinBitrate, MaxBitrate int
}

// CheckConfig checks a picture size, frame rate and target bitrate.
func (l VideoLimits) CheckConfig(w, h, fps, bps int) error {
	switch {
	case w < 1 || h < 1 || w > l.MaxWidth || h > l.MaxHeight:
		return fmt.Errorf("%w: %s: size %dx%d outside 1x1..%dx%d", ErrInvalidConfig, l.Codec, w, h, l.MaxWidth, l.MaxHeight)
	case l.EvenSize && (w%2 != 0 || h%2 != 0):
		return fmt.Errorf("%w: %s: size %dx%d is not even (4:2:0 needs even dimensions)", ErrInvalidConfig, l.Codec, w, h)
	case fps < 1 || fps > l.MaxFPS:
		return fmt.Errorf("%w: %s: frame rate %d outside 1..%d", ErrInvalidConfig, l.Codec, fps, l.MaxFPS)
	}
	return l.CheckBitrate(bps)
}

// CheckBitrate checks a target bitrate in bits per second.
func (l VideoLimits) CheckBitrate(bps int) error {
	return CheckBitrate(l.Codec, bps, l.MinBitrate, l.MaxBitrate)
}

// CheckFrame checks that f is a w x h picture whose planes hold a tightly
// packed I420 picture of that size, which is what the encoders hand their
// C libraries.
func (l VideoLimits) CheckFrame(f *Frame, w, h int) error {
	if f == nil {
		return fmt.Errorf("%w: %s: nil frame", ErrFrameSize, l.Codec)
	}
	if f.Width != w || f.Height != h {
		return fmt.Errorf("%w: %s: frame is %dx%d, encoder is %dx%d", ErrFrameSize, l.Codec, f.Width, f.Height, w, h)
	}
	cw, ch := (w+1)/2, (h+1)/2
	if len(f.Y) < w*h || len(f.U) < cw*ch || len(f.V) < cw*ch {
		return fmt.Errorf("%w: %s: %dx%d frame has short planes", ErrFrameSize, l.Codec, w, h)
	}
	return nil
}

// CheckBitrate reports ErrInvalidConfig, naming the codec, unless bps is
// within lo..hi bits per second.
func CheckBitrate(codec string, bps, lo, hi int) error {
	if bps < lo || bps > hi {
		return fmt.Errorf("%w: %s: bitrate %d bit/s outside %d..%d", ErrInvalidConfig, codec, bps, lo, hi)
	}
	return nil
}

// RealTimeBitrate is a target, in bits per second before an encoder
// rounds and bounds it, that gives good real-time quality for a w x h
// picture at 30 fps: 700 kbit/s at 640x360 (about 0.1 bit per pixel),
// growing with the pixel count to the power 0.55 since larger pictures
// need fewer bits per pixel (about 1.5 Mbit/s at 1280x720). w and h must
// be positive.
func RealTimeBitrate(w, h int) float64 {
	const refPixels, refBitrate = 640 * 360, 700_000
	return refBitrate * math.Pow(float64(w)*float64(h)/refPixels, 0.55)
}

// KeyframeRequest is a keyframe asked for and not yet produced: an
// encoder's ForceKeyframe sets it from any goroutine, even while a picture
// is being encoded, and Encode takes it for the picture it encodes. The
// zero value has no request.
type KeyframeRequest struct {
	pending atomic.Bool
}

// Request asks for the next picture to be a keyframe.
func (k *KeyframeRequest) Request() { k.pending.Store(true) }

// Take reports whether a keyframe was asked for, and clears the request.
func (k *KeyframeRequest) Take() bool { return k.pending.Swap(false) }

// Restore puts back a request that Take returned (taken true) when its
// picture did not become a keyframe: the encode failed or produced
// nothing.
func (k *KeyframeRequest) Restore(taken bool) {
	if taken {
		k.pending.Store(true)
	}
}
