package codec

import "errors"

// Sentinel errors shared by every codec adapter. Adapters wrap them with %w
// and add the library's own message.
var (
	// ErrInvalidConfig reports encoder or decoder settings out of range.
	ErrInvalidConfig = errors.New("codec: invalid configuration")
	// ErrCorrupt reports encoded input the decoder could not decode.
	ErrCorrupt = errors.New("codec: corrupt or truncated input")
	// ErrFrameSize reports a picture or PCM buffer of the wrong size.
	ErrFrameSize = errors.New("codec: wrong frame size")
	// ErrClosed reports use of an encoder or decoder after Close.
	ErrClosed = errors.New("codec: closed")
	// ErrLibrary reports a failure inside the C library.
	ErrLibrary = errors.New("codec: library error")
)
