package room

import "errors"

// Sentinel errors of the room package. Callers (the signalling plugins) map
// them to protocol error codes with errors.Is.
var (
	ErrRoomNotFound        = errors.New("room: no such room")
	ErrRoomExists          = errors.New("room: room already exists")
	ErrParticipantNotFound = errors.New("room: no such participant")
	ErrParticipantExists   = errors.New("room: participant ID already in use")
	ErrUnauthorized        = errors.New("room: wrong pin or secret")
	ErrRoomFull            = errors.New("room: room is full")
	ErrInvalidSDP          = errors.New("room: invalid session description")
	ErrNoMedia             = errors.New("room: offer has no media the room can use")
	ErrAlreadyNegotiated   = errors.New("room: participant already has a media session")
	ErrInvalidCandidate    = errors.New("room: invalid ICE candidate")
	ErrTooManyCandidates   = errors.New("room: too many ICE candidates")
	ErrClosed              = errors.New("room: closed")
	ErrInvalidConfig       = errors.New("room: invalid configuration")
	ErrAlreadyRecording    = errors.New("room: already recording")
	ErrNotRecording        = errors.New("room: not recording")
	ErrRecording           = errors.New("room: recording failed")
	// ErrInternal: a bug in the room's code (a recovered panic) ended the
	// room or one of its inputs.
	ErrInternal = errors.New("room: internal error")
)
