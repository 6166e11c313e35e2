package mixer

import "errors"

// Sentinel errors of the mixer.
var (
	// ErrInvalidConfig reports mixer settings out of range.
	ErrInvalidConfig = errors.New("mixer: invalid configuration")
	// ErrFrameSize reports PCM of the wrong length, or a canvas of the
	// wrong size.
	ErrFrameSize = errors.New("mixer: wrong frame size")
)
