package sip

import (
	"context"

	"github.com/tessera-mcu/tessera/room"
)

// Rooms is what the user agent needs of the rooms: the room a call dials
// (a *room.Manager is one).
type Rooms interface {
	Get(id room.RoomID) (*room.Room, error)
}

// Media makes the media side of a call from the caller's SDP offer.
type Media interface {
	// Answer takes an SDP offer and returns the call's media with its
	// sockets open, and the SDP answer. digit is told of each DTMF key the
	// caller sends in its RTP (RFC 4733); it must return soon. An offer
	// with no usable audio is an error wrapping endpoint.ErrNoMedia, one
	// that does not parse endpoint.ErrInvalidSDP.
	Answer(offer []byte, digit func(rune)) (MediaCall, []byte, error)
}

// Offerer is a Media that also makes offers, for the calls Tessera
// places (Server.Dial); PlainRTP is one.
type Offerer interface {
	// Offer opens the media of a call to place and returns it with the
	// SDP offer. digit is as for Answer.
	Offer(digit func(rune)) (OfferedCall, []byte, error)
}

// OfferedCall is the media of a call Tessera places: it starts once the
// callee's answer is in.
type OfferedCall interface {
	MediaCall
	// Answered takes the callee's SDP answer and starts the media; an
	// answer with no codec offered is an error wrapping
	// endpoint.ErrNoMedia.
	Answered(answer []byte) error
}

// MediaCall is the media of one call.
type MediaCall interface {
	// Attach makes the media participant m's connection: m hears the
	// caller and the caller hears m's mix.
	Attach(ctx context.Context, m *room.Member) error
	// Update takes a new offer from the caller (a re-INVITE or UPDATE:
	// hold, unhold, a new address) and returns the answer. On an error
	// the media goes on as it was.
	Update(offer []byte) ([]byte, error)
	// PictureFastUpdate asks the room for a keyframe of the caller's
	// composite (a room system's SIP INFO picture_fast_update); false
	// when the call has no video.
	PictureFastUpdate() bool
	// SendDigits sends DTMF keys (0-9, *, #, A-D) to the other side and
	// returns once they were sent: keys that are not keys wrap
	// room.ErrInvalidValue, a callee that takes no DTMF
	// room.ErrCallNoDTMF.
	SendDigits(ctx context.Context, keys string) error
	// CheckDigits tells, without sending, whether SendDigits would take
	// keys now (the same errors).
	CheckDigits(keys string) error
	// Prompt opens a writer of Tessera's own audio to the caller (the
	// PIN prompt's tones), for use before Attach: the room's mix takes
	// over once the media is attached.
	Prompt() (PCMWriter, error)
	// Done is closed when the media ended by itself (no RTP for too
	// long) or was closed.
	Done() <-chan struct{}
	// Close ends the media; it is safe to call more than once.
	Close() error
}
