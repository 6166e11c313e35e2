package janus

import (
	"errors"
	"fmt"
	"time"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/rtc"
)

// AudioBridge plugin error codes (Janus's janus_audiobridge.c); the video
// MCU answers with the same.
const (
	abNoMessage       = 480
	abInvalidJSON     = 481
	abInvalidRequest  = 482
	abMissingElement  = 483
	abInvalidElement  = 484
	abNoSuchRoom      = 485
	abRoomExists      = 486
	abNotJoined       = 487
	abUnauthorized    = 489
	abIDExists        = 490
	abAlreadyJoined   = 491
	abNoSuchUser      = 492
	abInvalidSDP      = 493
	abUnknownError    = 499
	audioBridgePkg    = "janus.plugin.audiobridge"
	videoMCUPkg       = "janus.plugin.mcu"
	requestTimeout    = 15 * time.Second
	abSubscriptionLen = 512
)

// pluginError is a room plugin's error reply.
type pluginError struct {
	code int
	msg  string
}

func perr(code int, format string, args ...any) *pluginError {
	return &pluginError{code, fmt.Sprintf(format, args...)}
}

func (e *pluginError) Error() string { return fmt.Sprintf("plugin error %d: %s", e.code, e.msg) }

func (e *pluginError) data(key string) M {
	return M{key: "event", "error_code": e.code, "error": e.msg}
}

// pluginErrorOf is how a request's error is answered: a pluginError as it
// is, a field reader's as AudioBridge answers a missing (483) or mistyped
// (484) element, anything else as the room error it is (roomErr).
func pluginErrorOf(err error) *pluginError {
	var pe *pluginError
	if errors.As(err, &pe) {
		return pe
	}
	var fe *fieldError
	if errors.As(err, &fe) {
		if errors.Is(fe, errMissingField) {
			return perr(abMissingElement, "Missing element (%s)", fe.key)
		}
		return perr(abInvalidElement, "Invalid element (%s should be %s)", fe.key, fe.want)
	}
	return roomErr(err)
}

func roomErr(err error) *pluginError {
	switch {
	case errors.Is(err, room.ErrUnauthorized):
		return perr(abUnauthorized, "Unauthorized (wrong pin)")
	case errors.Is(err, room.ErrParticipantExists):
		return perr(abIDExists, "User ID already exists")
	case errors.Is(err, room.ErrParticipantNotFound):
		return perr(abNoSuchUser, "No such user")
	case errors.Is(err, room.ErrRoomNotFound), errors.Is(err, room.ErrClosed):
		return perr(abNoSuchRoom, "No such room")
	case errors.Is(err, room.ErrRoomFull):
		return perr(abUnauthorized, "Room is full")
	case errors.Is(err, room.ErrServerFull):
		return perr(abUnauthorized, "Server is full (%v)", err)
	case errors.Is(err, rtc.ErrInvalidSDP), errors.Is(err, rtc.ErrNoMedia), errors.Is(err, rtc.ErrAnswer):
		return perr(abInvalidSDP, "Error processing SDP: %v", err)
	case errors.Is(err, room.ErrInvalidValue), errors.Is(err, room.ErrCannotMove):
		return perr(abInvalidElement, "%v", err)
	case errors.Is(err, room.ErrNoVideo):
		return perr(abInvalidRequest, "%v", err)
	}
	return perr(abUnknownError, "%v", err)
}

func recordErr(err error) *pluginError {
	switch {
	case errors.Is(err, room.ErrAlreadyRecording):
		return perr(abInvalidRequest, "Already recording (the room's recording is running)")
	case errors.Is(err, room.ErrNotRecording):
		return perr(abInvalidRequest, "Not recording (the room's recording is not running)")
	case errors.Is(err, room.ErrInvalidValue):
		return perr(abInvalidElement, "%v", err)
	case errors.Is(err, room.ErrTooManyRecordings):
		return perr(abUnauthorized, "Unauthorized (the server's recording limit is reached: %v)", err)
	case errors.Is(err, room.ErrRecording):
		return perr(abUnknownError, "Recording failed: %v", err)
	}
	return roomErr(err)
}
