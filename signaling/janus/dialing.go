package janus

import (
	"context"
	"errors"

	"github.com/tessera-mcu/tessera/room"
)

// Dialer places calls from a room to telephones (SIP dial-out). Dial
// returns once the call is placed; its progress (ringing, answered, busy,
// failed, hung up) comes as the room's call events. A URI it cannot call
// is an error wrapping room.ErrInvalidValue. SendDigits sends DTMF keys
// into an answered call: it checks them and returns, the keys following
// in the background (an unknown call wraps room.ErrCallNotFound, keys
// that are not keys room.ErrInvalidValue, a callee without DTMF
// room.ErrCallNoDTMF). Hangup ends a call, ringing or answered, and
// returns at once, the end following as a call event (an unknown call
// wraps room.ErrCallNotFound).
type Dialer interface {
	Dial(ctx context.Context, r *room.Room, uri string) (room.CallInfo, error)
	SendDigits(ctx context.Context, r *room.Room, call room.CallID, keys string) error
	Hangup(ctx context.Context, r *room.Room, call room.CallID) error
}

// SetDialer enables the dial request (nil: it answers that dialing out is
// not available). Call it before the plugin serves.
func (p *RoomPlugin) SetDialer(d Dialer) { p.dialer = d }

// dial calls a telephone into the room: {uri: "sip:…"}, with the room's
// secret when it has one (as stream). The answer carries the call; its
// progress comes as "dial" events to everyone in the room.
func (s *roomSession) dial(ctx context.Context, q roomCall) (M, error) {
	uri, err := q.b.str("uri", true)
	if err != nil {
		return nil, err
	}
	if s.plugin.dialer == nil {
		return nil, perr(abInvalidRequest, "Dialing out is not available on this server")
	}
	info, err := s.plugin.dialer.Dial(ctx, q.r, uri)
	if err != nil {
		return nil, roomErr(err)
	}
	return M{s.plugin.key: "success", "room": q.r.ID(), "call": callJSON(info)}, nil
}

// dtmf sends DTMF keys into one of the room's dial-out calls: {call: id,
// digits: "1234#"}, with the room's secret when it has one (as dial). It
// answers once the keys were sent.
func (s *roomSession) dtmf(ctx context.Context, q roomCall) (M, error) {
	id, err := q.b.uint("call", true)
	if err != nil {
		return nil, err
	}
	digits, err := q.b.str("digits", true)
	if err != nil {
		return nil, err
	}
	if s.plugin.dialer == nil {
		return nil, perr(abInvalidRequest, "Dialing out is not available on this server")
	}
	switch err := s.plugin.dialer.SendDigits(ctx, q.r, room.CallID(id), digits); {
	case err == nil:
	case errors.Is(err, room.ErrInvalidValue):
		return nil, perr(abInvalidElement, "Invalid digits (%v)", err)
	case errors.Is(err, room.ErrCallNoDTMF):
		return nil, perr(abInvalidRequest, "The call takes no DTMF")
	default:
		return nil, callErr(err, id)
	}
	return M{s.plugin.key: "success", "room": q.r.ID(), "call": id, "digits": digits}, nil
}

// hangupCall ends one of the room's dial-out calls, ringing or answered:
// {call: id}, with the room's secret when it has one (as dial). The end
// comes as a "dial" event, hungup, to everyone in the room.
func (s *roomSession) hangupCall(ctx context.Context, q roomCall) (M, error) {
	id, err := q.b.uint("call", true)
	if err != nil {
		return nil, err
	}
	if s.plugin.dialer == nil {
		return nil, perr(abInvalidRequest, "Dialing out is not available on this server")
	}
	if err := s.plugin.dialer.Hangup(ctx, q.r, room.CallID(id)); err != nil {
		return nil, callErr(err, id)
	}
	return M{s.plugin.key: "success", "room": q.r.ID(), "call": id}, nil
}

// callErr answers a dialer's error about call id: 492 for a call it
// does not know, the room's code otherwise.
func callErr(err error, id uint64) error {
	if errors.Is(err, room.ErrCallNotFound) {
		return perr(abNoSuchUser, "No such call (%d)", id)
	}
	return roomErr(err)
}

func callJSON(info room.CallInfo) M {
	m := M{"id": info.ID, "uri": info.URI}
	if info.Participant != 0 {
		m["participant"] = info.Participant
	}
	return m
}

// callEvent tells a room's participants of a dial-out call's progress:
// "dial" is dialing, ringing, answered, busy, failed or hungup, with the
// reason when the call ended.
func callEvent(key string, id room.RoomID, e room.Event) M {
	ev := M{key: "event", "room": id, "call": callJSON(e.Call), "dial": e.State}
	if e.Reason != "" {
		ev["reason"] = e.Reason
	}
	return ev
}
