package janus

import (
	"errors"
	"fmt"
)

// Janus core error codes (Janus's apierror.h).
const (
	CodeUnauthorized        = 403
	CodeUnauthorizedPlugin  = 405
	CodeTransportSpecific   = 450
	CodeMissingRequest      = 452
	CodeUnknownRequest      = 453
	CodeInvalidJSON         = 454
	CodeInvalidJSONObject   = 455
	CodeMissingMandatory    = 456
	CodeInvalidRequestPath  = 457
	CodeSessionNotFound     = 458
	CodeHandleNotFound      = 459
	CodePluginNotFound      = 460
	CodePluginAttach        = 461
	CodePluginMessage       = 462
	CodePluginDetach        = 463
	CodeJSEPUnknownType     = 464
	CodeJSEPInvalidSDP      = 465
	CodeTrickleInvalid      = 466
	CodeInvalidElementType  = 467
	CodeSessionConflict     = 468
	CodeUnexpectedAnswer    = 469
	CodeTokenNotFound       = 470
	CodeWebRTCState         = 471
	CodeNotAcceptingSession = 472
	CodeUnknown             = 490
)

// Error is a Janus core error: {"code": N, "reason": "..."}.
type Error struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

func (e *Error) Error() string { return fmt.Sprintf("janus error %d: %s", e.Code, e.Reason) }

func errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// Sentinel errors of the package.
var (
	// ErrNotInRoom: a handle's request needs it to have joined a room.
	ErrNotInRoom = errors.New("janus: not in a room")

	// errTokenNotFound: an admin request names a token not stored.
	errTokenNotFound = errors.New("token not found")

	// errMissingField: a request lacks a field it needs.
	errMissingField = errors.New("missing element")
	// errFieldType: a request has a field with the wrong JSON type.
	errFieldType = errors.New("invalid element type")
)
