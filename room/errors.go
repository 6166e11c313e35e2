package room

import (
	"errors"
	"fmt"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// Sentinel errors of the room package. Callers (the signalling plugins) map
// them to protocol error codes with errors.Is. Errors of setting up a media
// connection are package endpoint's.
var (
	ErrRoomNotFound        = errors.New("room: no such room")
	ErrRoomExists          = errors.New("room: room already exists")
	ErrParticipantNotFound = errors.New("room: no such participant")
	ErrParticipantExists   = errors.New("room: participant ID already in use")
	ErrUnauthorized        = errors.New("room: wrong pin or secret")
	ErrRoomFull            = errors.New("room: room is full")
	ErrAlreadyNegotiated   = errors.New("room: participant already has a media session")
	ErrClosed              = errors.New("room: closed")
	// ErrInvalidConfig: a room's or the manager's configuration is
	// wrong.
	ErrInvalidConfig = errors.New("room: invalid configuration")
	// ErrInvalidValue: a request's value is out of range (a volume, a
	// video tier, a participant ID, a recording's name or codec).
	ErrInvalidValue = errors.New("room: invalid value")
	// ErrCannotMove: a participant cannot move to that room (it is
	// already there, or the room belongs to another manager).
	ErrCannotMove = errors.New("room: cannot move there")
	// ErrNoVideo: the room is audio-only (no layout, no tiles).
	ErrNoVideo          = errors.New("room: the room has no video")
	ErrAlreadyRecording = errors.New("room: already recording")
	ErrNotRecording     = errors.New("room: not recording")
	ErrRecording        = errors.New("room: recording failed")
	// ErrNoTierFits: a connection asked for the composite at no more
	// than a picture size (Media.MaxPictureSize) that no tier of the
	// room fits. It wraps ErrNoVideo and endpoint.ErrNoComposite.
	ErrNoTierFits = fmt.Errorf("%w: %w: no tier fits the receiver's picture size", ErrNoVideo, endpoint.ErrNoComposite)
	// ErrStalled: a worker has stopped ticking its rooms.
	ErrStalled = errors.New("room: worker stalled")
	// ErrInternal: a bug in the room's code (a recovered panic) ended the
	// room or one of its inputs.
	ErrInternal = errors.New("room: internal error")
	// ErrTooManyRooms, ErrServerFull and ErrTooManyRecordings: a
	// server-wide cap (Limits) is reached.
	ErrTooManyRooms      = errors.New("room: too many rooms")
	ErrServerFull        = errors.New("room: server is full")
	ErrTooManyRecordings = errors.New("room: too many recordings")
	ErrTooManyStreams    = errors.New("room: too many streams")
	// ErrNoSuchStream: no stream of that ID runs in the room.
	ErrNoSuchStream = errors.New("room: no such stream")
	// ErrCallNotFound: no dial-out call of the room has that ID (or it
	// is not answered yet, or over).
	ErrCallNotFound = errors.New("room: no such call")
	// ErrCallNoDTMF: the callee takes no DTMF keys Tessera could send.
	ErrCallNoDTMF = errors.New("room: the call takes no DTMF")
	// ErrDiskLow: the recordings' file system has less free space than
	// the configured floor.
	ErrDiskLow = errors.New("room: disk space below the floor")
)
