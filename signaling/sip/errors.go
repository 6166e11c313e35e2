package sip

import (
	"errors"
	"fmt"
)

// Errors of the SIP user agent. A call refused for a room's reason
// carries the room package's sentinel (room.ErrRoomNotFound, ...) and the
// media layer's (endpoint.ErrNoMedia, ...) wrapped, so errors.Is finds
// them; the status code sent is chosen from them (see status.go).
var (
	// ErrInvalidConfig: the Config is wrong.
	ErrInvalidConfig = errors.New("sip: invalid configuration")
	// ErrClosed: the server is closed.
	ErrClosed = errors.New("sip: server closed")
	// ErrBadRequest: a request lacks a header the user agent needs or has
	// one it cannot use.
	ErrBadRequest = errors.New("sip: bad request")
	// ErrNoSuchRoom: the Request-URI's user part names no room.
	ErrNoSuchRoom = errors.New("sip: no such room")
	// ErrNoOffer: an INVITE without an SDP offer (Tessera answers offers;
	// it does not make them).
	ErrNoOffer = errors.New("sip: INVITE carries no SDP offer")
	// ErrUnsupportedMediaType: a body of a type the request cannot carry.
	ErrUnsupportedMediaType = errors.New("sip: unsupported body type")
	// ErrRateLimited: too many INVITEs from one source address.
	ErrRateLimited = errors.New("sip: too many calls from this address")
	// ErrLockedOut: too many wrong PINs from one source address.
	ErrLockedOut = errors.New("sip: too many wrong PINs from this address")
	// ErrCanceled: the caller cancelled the INVITE before it was answered.
	ErrCanceled = errors.New("sip: call cancelled")
	// ErrNoDialOut: the media layer cannot make offers, so no call can
	// be placed.
	ErrNoDialOut = errors.New("sip: the media layer cannot place calls")
	// ErrNoAck: the caller never acknowledged the 200 OK.
	ErrNoAck = errors.New("sip: no ACK for the 200 OK")
	// errOKInterrupted: the dialog ended (CANCEL, BYE) while the 200 OK
	// was sent and awaited its ACK.
	errOKInterrupted = fmt.Errorf("%w while the 200 OK awaited its ACK", ErrCanceled)
	// ErrNoMediaPorts: every media port pair of the call range is in use.
	ErrNoMediaPorts = errors.New("sip: no free media port")
	// ErrSessionIntervalTooSmall: a Session-Expires below Config.MinSE
	// (answered 422 with Min-SE).
	ErrSessionIntervalTooSmall = errors.New("sip: session interval too small")
	// ErrDirectory: the cluster's room directory (Config.Locator) cannot
	// tell now which node hosts the dialled room.
	ErrDirectory = errors.New("sip: cannot tell which node hosts the room")
	// ErrHostNoSIP: the room is hosted on another node that takes no SIP
	// calls, or not on the transport the call came over (TLS).
	ErrHostNoSIP = errors.New("sip: the room's node takes no such call")
)
