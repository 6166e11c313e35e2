package room

import "github.com/tessera-mcu/tessera/internal/jsid"

// CallID names a call a room places to a telephone (a dial-out).
type CallID uint64

// NewCallID returns a fresh call ID (53 bits, safe in JSON numbers).
func NewCallID() CallID { return CallID(jsid.New()) }

// CallInfo describes a dial-out call.
type CallInfo struct {
	ID  CallID `json:"id"`
	URI string `json:"uri"`
	// Participant is who the callee became in the room once it answered
	// (0: not yet).
	Participant ParticipantID `json:"participant,omitempty"`
}

// States of a dial-out call, as the room's call events give them.
const (
	CallDialing  = "dialing"  // the request left
	CallRinging  = "ringing"  // the callee is alerted
	CallAnswered = "answered" // the callee joined the room
	CallBusy     = "busy"     // the callee is busy or declined (486, 600, 603)
	CallFailed   = "failed"   // no answer, unreachable, refused (Reason says)
	CallHungUp   = "hungup"   // an answered call ended
)

// NotifyCall tells the room's participants of a dial-out call's progress:
// state is one of the Call* states, reason says why for busy, failed and
// hung-up calls. Safe to call from any goroutine.
func (r *Room) NotifyCall(info CallInfo, state, reason string) {
	r.post(func() {
		r.publish(Event{Kind: EventCall, Call: info, State: state, Reason: reason})
	})
}
