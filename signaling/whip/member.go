package whip

import (
	"context"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/endpoint"
	"github.com/tessera-mcu/tessera/room/rtc"
)

// member is the session's participant as the WebRTC engine sees it: the
// room's Member, whose Link also tells the session when its connection
// fails or closes.
type member struct {
	*room.Member
	ended func()
}

var _ rtc.Member = member{}

// NewLink wraps the room's Link so that the end of the connection ends
// the session.
func (m member) NewLink() endpoint.Link {
	return &watchedLink{Link: m.Member.NewLink(), ended: m.ended}
}

// Attach hands the room its own Link back.
func (m member) Attach(ctx context.Context, conn endpoint.Connection, media endpoint.Media) error {
	if w, ok := media.Link.(*watchedLink); ok {
		media.Link = w.Link
	}
	return m.Member.Attach(ctx, conn, media)
}

// watchedLink passes everything on to the room's Link and watches the
// connection's state.
type watchedLink struct {
	endpoint.Link
	ended func()
}

func (l *watchedLink) State(conn endpoint.Connection, s endpoint.ConnState) {
	l.Link.State(conn, s)
	if s == endpoint.ConnFailed || s == endpoint.ConnClosed {
		l.ended()
	}
}
