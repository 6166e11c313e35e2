package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/tessera-mcu/tessera/room"
)

// Locator tells where a room is hosted when several Tessera nodes are
// one service (Config.Locator). Locate returns the SIP address
// (host:port, UDP and TCP) of the node that hosts id, with elsewhere
// true, or elsewhere false when this node is the room's host (the room
// is then open here, or cannot be); an empty
// address with elsewhere true means the host takes no SIP calls. An error
// wrapping room.ErrRoomNotFound: the room exists nowhere; any other
// error: where it is cannot be told now.
type Locator interface {
	Locate(ctx context.Context, id room.RoomID) (sipAddr string, elsewhere bool, err error)
}

// locateTimeout bounds the Locator's answer for one INVITE.
const locateTimeout = 3 * time.Second

// redirect answers an INVITE for a room that is not open on this node:
// with 302 Moved Temporarily to the node that hosts it (the Contact
// keeps the dialled user part, PIN included), or with the refusal that
// says why it cannot (404: the room exists nowhere, or it is to be
// hosted here and could not be opened; 480: the host takes no SIP calls
// or the call came over TLS; 503: the room directory cannot be read).
// here reports that the room is hosted here and now open: the INVITE is
// not answered yet, and is to be taken as any other.
func (s *Server) redirect(req *sip.Request, tx sip.ServerTransaction, id room.RoomID) (here bool, err error) {
	fail := func(err error) (bool, error) {
		s.stats.refused.Add(1)
		s.refuse(req, tx, err)
		return false, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), locateTimeout)
	defer cancel()
	addr, elsewhere, err := s.cfg.Locator.Locate(ctx, id)
	switch {
	case errors.Is(err, room.ErrRoomNotFound):
		return fail(err)
	case err != nil:
		s.locateLog.Warn(s.log, "SIP: cannot tell which node hosts the room", "room", id, "err", err)
		return fail(fmt.Errorf("%w: room %d: %v", ErrDirectory, id, err))
	case !elsewhere:
		if _, err := s.rooms.Get(id); err == nil {
			return true, nil
		}
		return fail(fmt.Errorf("%w: %d is to be hosted here and is not open", room.ErrRoomNotFound, id))
	case addr == "":
		return fail(fmt.Errorf("%w: room %d", ErrHostNoSIP, id))
	case strings.EqualFold(req.Transport(), "TLS") || req.Recipient.Scheme == "sips":
		return fail(fmt.Errorf("%w: room %d (TLS)", ErrHostNoSIP, id))
	}
	host, portStr, err := net.SplitHostPort(addr)
	port, perr := strconv.Atoi(portStr)
	if err != nil || perr != nil {
		return fail(fmt.Errorf("%w: room %d: host address %q", ErrDirectory, id, addr))
	}
	to := sip.Uri{Scheme: "sip", User: req.Recipient.User, Host: host, Port: port}
	if strings.EqualFold(req.Transport(), "TCP") {
		to.UriParams = sip.NewParams()
		to.UriParams.Add("transport", "tcp")
	}
	s.stats.redirected.Add(1)
	s.respond(req, tx, 302, "Moved Temporarily", nil, &sip.ContactHeader{Address: to})
	s.log.Debug("SIP call redirected", "room", id, "to", to.String(), "from", req.Source())
	return false, nil
}
