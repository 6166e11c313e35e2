package sip

import (
	"errors"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// refusal is the final response that refuses a request: a status code
// and a reason phrase that says what went wrong.
type refusal struct {
	code   int
	reason string
}

// refuse picks the response to an error (RFC 3261 section 21).
func refuse(err error) refusal {
	switch {
	case errors.Is(err, ErrBadRequest):
		return refusal{400, "Bad Request (" + detail(err) + ")"}
	case errors.Is(err, endpoint.ErrInvalidSDP):
		return refusal{400, "Bad Request (SDP does not parse)"}
	case errors.Is(err, ErrNoSuchRoom), errors.Is(err, room.ErrRoomNotFound):
		return refusal{404, "Not Found (no such room)"}
	case errors.Is(err, room.ErrUnauthorized):
		return refusal{403, "Forbidden (wrong or missing PIN)"}
	case errors.Is(err, ErrLockedOut):
		return refusal{403, "Forbidden (too many wrong PINs; try again later)"}
	case errors.Is(err, ErrSessionIntervalTooSmall):
		return refusal{422, "Session Interval Too Small"}
	case errors.Is(err, ErrUnsupportedMediaType):
		return refusal{415, "Unsupported Media Type"}
	case errors.Is(err, room.ErrRoomFull):
		return refusal{486, "Busy Here (room is full)"}
	case errors.Is(err, room.ErrServerFull):
		return refusal{480, "Temporarily Unavailable (server is full)"}
	case errors.Is(err, ErrNoOffer):
		return refusal{488, "Not Acceptable Here (no SDP offer)"}
	case errors.Is(err, endpoint.ErrNoMedia):
		return refusal{488, "Not Acceptable Here (no usable audio codec)"}
	case errors.Is(err, ErrHostNoSIP):
		return refusal{480, "Temporarily Unavailable (room hosted on another node that takes no such call)"}
	case errors.Is(err, ErrDirectory):
		return refusal{503, "Service Unavailable (room directory unreachable)"}
	case errors.Is(err, ErrNoMediaPorts):
		return refusal{503, "Service Unavailable (no media ports free)"}
	case errors.Is(err, ErrRateLimited):
		return refusal{503, "Service Unavailable (too many calls)"}
	case errors.Is(err, ErrClosed), errors.Is(err, room.ErrClosed):
		return refusal{503, "Service Unavailable (shutting down)"}
	case errors.Is(err, ErrCanceled):
		return refusal{487, "Request Terminated"}
	default:
		return refusal{500, "Server Internal Error"}
	}
}

// detail is what an ErrBadRequest error adds to the sentinel's text.
func detail(err error) string {
	s := err.Error()
	prefix := ErrBadRequest.Error() + ": "
	if len(s) > len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):]
	}
	return "malformed request"
}
