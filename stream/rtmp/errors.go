package rtmp

import "errors"

// Sentinel errors of the package; errors carry them wrapped with %w.
var (
	// ErrBadURL reports a push URL that is not rtmp:// or rtmps:// with a
	// host, an application and a stream key.
	ErrBadURL = errors.New("rtmp: bad push URL")
	// ErrBadOptions reports Options out of range.
	ErrBadOptions = errors.New("rtmp: bad options")
	// ErrClosed is what Write* return after Close.
	ErrClosed = errors.New("rtmp: pusher closed")
	// ErrNoParameterSets reports a keyframe without SPS and PPS in front
	// of it: the push cannot start on it.
	ErrNoParameterSets = errors.New("rtmp: keyframe without SPS and PPS")
	// ErrPeerClosed reports that the ingest server closed the connection.
	ErrPeerClosed = errors.New("rtmp: ingest closed the connection")
)
