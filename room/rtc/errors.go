package rtc

import (
	"errors"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// Errors of the WebRTC connection. Those it shares with other kinds of
// connection are endpoint's, so that one errors.Is matches whichever
// connection failed.
var (
	ErrInvalidSDP        = endpoint.ErrInvalidSDP
	ErrNoMedia           = endpoint.ErrNoMedia
	ErrAnswer            = endpoint.ErrAnswer
	ErrInvalidCandidate  = endpoint.ErrInvalidCandidate
	ErrTooManyCandidates = endpoint.ErrTooManyCandidates
	// ErrInvalidConfig: the engine's configuration is wrong.
	ErrInvalidConfig = errors.New("rtc: invalid configuration")
	// ErrPortGone: the media port is closed.
	ErrPortGone = errors.New("rtc: media port gone")
	// ErrNotWebRTC: the participant already has a media connection of
	// another kind.
	ErrNotWebRTC = errors.New("rtc: the participant's media connection is not WebRTC")
	// ErrUnknownStream: a packet for an SSRC the pacer was never given.
	ErrUnknownStream = errors.New("rtc: packet for an unknown stream")
)
