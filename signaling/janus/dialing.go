package janus

import (
	"context"

	"github.com/tessera-mcu/tessera/room"
)

// Dialer places calls from a room to telephones (SIP dial-out). Dial
// returns once the call is placed; its progress (ringing, answered, busy,
// failed, hung up) comes as the room's call events. A URI it cannot call
// is an error wrapping room.ErrInvalidValue.
type Dialer interface {
	Dial(ctx context.Context, r *room.Room, uri string) (room.CallInfo, error)
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
