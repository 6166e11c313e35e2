package plainrtp

import (
	"errors"
	"fmt"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// Errors of the plain-RTP connection. Those it shares with other kinds of
// connection are endpoint's, so that one errors.Is matches whichever
// connection failed.
var (
	// ErrInvalidSDP: the offer does not parse, or names no usable
	// address.
	ErrInvalidSDP = endpoint.ErrInvalidSDP
	// ErrNoMedia: the offer has no audio stream in a codec Tessera
	// speaks (a SIP user agent answers 488).
	ErrNoMedia = endpoint.ErrNoMedia
	// ErrAnswer: the answer cannot be written.
	ErrAnswer = endpoint.ErrAnswer
	// ErrNoUsableAudio: the offer's audio streams are all refused, or
	// none offers PCMU, PCMA, G.722 or Opus over RTP/AVP (or RTP/SAVP keyed
	// with a suite Tessera takes). It wraps ErrNoMedia.
	ErrNoUsableAudio = fmt.Errorf("%w: plainrtp: no audio stream in PCMU, PCMA, G722 or Opus over RTP/AVP or RTP/SAVP", ErrNoMedia)
	// ErrSecurityChange: a new offer on an established session turns
	// SRTP on or off; the session keeps what it was set up with. It
	// wraps ErrNoMedia.
	ErrSecurityChange = fmt.Errorf("%w: plainrtp: the new offer switches between RTP/AVP and RTP/SAVP", ErrNoMedia)
	// ErrAnswered: Session.Answered was called on a session that already
	// has its answer (or answers an offer of the remote party's).
	ErrAnswered = errors.New("plainrtp: session already answered")
	// ErrInvalidConfig: the engine's configuration is wrong.
	ErrInvalidConfig = errors.New("plainrtp: invalid configuration")
	// ErrNoPorts: every media port pair of the range is in use.
	ErrNoPorts = errors.New("plainrtp: no free media port pair")
	// ErrClosed: the session (or the engine) is closed.
	ErrClosed = errors.New("plainrtp: closed")
	// ErrInactive: no RTP (of either medium) arrived for the configured
	// timeout; the call is over.
	ErrInactive = errors.New("plainrtp: no RTP for the inactivity timeout")
	// ErrNoTelephoneEvent: digits cannot be sent, the remote party did
	// not offer RFC 4733 telephone-event.
	ErrNoTelephoneEvent = errors.New("plainrtp: the remote party takes no telephone-events")
	// ErrInvalidDigits: keys to send that are not DTMF keys (0-9, *, #,
	// A-D), or too many.
	ErrInvalidDigits = errors.New("plainrtp: invalid DTMF digits")
	// ErrAttached: the session is already attached to a participant.
	ErrAttached = errors.New("plainrtp: session already attached")

	// errReplaced ends the room's reading of a microphone track whose
	// codec a new offer changed (a new track follows).
	errReplaced = errors.New("plainrtp: the microphone changed codec")
)
