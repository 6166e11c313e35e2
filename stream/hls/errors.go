package hls

import "errors"

var (
	// ErrClosed is returned by a Muxer's writes after Close, and by
	// requests for a stream that has ended.
	ErrClosed = errors.New("hls: stream closed")
	// ErrBadAccessUnit reports a video access unit that holds no NAL unit,
	// or a keyframe without a sequence and picture parameter set.
	ErrBadAccessUnit = errors.New("hls: bad H.264 access unit")
	// ErrBadAudio reports audio that is not 20 ms of 48 kHz mono, or an
	// audio encoder that produced what the muxer cannot carry.
	ErrBadAudio = errors.New("hls: bad audio")
	// ErrNotFound reports a playlist, segment or part that does not exist
	// (never did, or left the window).
	ErrNotFound = errors.New("hls: not found")
	// ErrNoStream is what a Source returns, wrapped, for a room that does
	// not exist or has HLS turned off; the handler answers 404.
	ErrNoStream = errors.New("hls: no stream for this room")
	// ErrUnauthorized is what an Authorize function returns, wrapped, when
	// a request carries no credentials; the handler answers 401. Any
	// other Authorize error is answered 403.
	ErrUnauthorized = errors.New("hls: credentials required")
	// ErrForbidden is what an Authorize function returns, wrapped, for
	// credentials that do not open this room; the handler answers 403.
	ErrForbidden = errors.New("hls: credentials do not open this room")
	// ErrNotReady reports a stream whose first segment did not come in
	// time, or a blocking playlist request that timed out.
	ErrNotReady = errors.New("hls: stream not ready")
	// ErrFutureSegment reports a blocking playlist reload that asks for a
	// segment more than two past the live edge; the handler answers 400.
	ErrFutureSegment = errors.New("hls: segment too far ahead of the live edge")
	// ErrBadRequest reports a malformed request directive; the handler
	// answers 400.
	ErrBadRequest = errors.New("hls: bad request")
	// ErrInvalidConfig reports a setting out of range.
	ErrInvalidConfig = errors.New("hls: invalid configuration")
)
