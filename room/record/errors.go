package record

import "errors"

// Sentinel errors of the record package. Every error a Writer returns wraps
// one of them, so callers can tell a bad argument from a failing disk with
// errors.Is.
var (
	// ErrInvalid reports options or input the writer cannot record: an
	// unknown format, a codec the format cannot carry, a frame for a track
	// the recording does not have, an H.264 frame without start codes.
	ErrInvalid = errors.New("record: invalid options or input")
	// ErrClosed reports a call on a Writer after Close.
	ErrClosed = errors.New("record: writer closed")
	// ErrWrite reports that writing the file failed (disk full, I/O error).
	// The error also wraps the underlying one and names the file. Once a
	// write has failed the Writer returns the same error from every call.
	ErrWrite = errors.New("record: write failed")
)
