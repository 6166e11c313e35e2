package sip

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/emiago/sipgo/sip"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// Requests within a call's dialog, and the ones outside any.

// onAck confirms a call's dialog; an ACK matching nothing is dropped (an
// ACK is never answered).
func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	if c := s.lookup(req); c != nil {
		c.acked.Store(true)
		if d, ok := c.dlg.(interface {
			ReadAck(*sip.Request, sip.ServerTransaction) error
		}); ok {
			_ = d.ReadAck(req, tx)
		}
		return
	}
	s.readDelayedAck(req, tx)
}

// onBye answers the caller's hang-up and ends the call.
func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c := s.lookup(req)
	if c == nil {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	c.byed.Store(true)
	if err := c.dlg.ReadBye(req, tx); err != nil {
		s.respond(req, tx, 400, "Bad Request (CSeq out of order)", nil)
		return
	}
	c.end(errRemoteBye)
}

// onCancel gets only a CANCEL that matches no pending INVITE (the stack
// answers the others, and the INVITE with 487).
func (s *Server) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 481, "Call/Transaction Does Not Exist", nil)
}

// onOptions answers a keepalive or capability query, in a dialog or not.
func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 200, "OK", nil,
		sip.NewHeader("Allow", allowed), sip.NewHeader("Accept", accepted))
}

// onUnsupported refuses every other method.
func (s *Server) onUnsupported(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 405, "Method Not Allowed", nil, sip.NewHeader("Allow", allowed))
}

// onUpdate takes a new offer within a call (RFC 3311).
func (s *Server) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	s.onReoffer(req, tx)
}

// onReoffer answers a re-INVITE or UPDATE: a new offer (hold, unhold, a
// new address) goes to the call's media and its answer back; one the
// media cannot take leaves the call as it was (488). An offerless
// re-INVITE gets the call's latest answer.
func (s *Server) onReoffer(req *sip.Request, tx sip.ServerTransaction) {
	c := s.lookup(req)
	if c == nil {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	if err := c.dlg.ReadRequest(req, tx); err != nil {
		s.respond(req, tx, 500, "Server Internal Error (CSeq out of order)", nil,
			sip.NewHeader("Retry-After", "1"))
		return
	}
	offer, err := sdpOffer(req)
	if err != nil {
		s.refuse(req, tx, err)
		return
	}
	asked, err := c.session.check(req)
	if err != nil {
		s.refuse(req, tx, err)
		return
	}
	c.update.Lock()
	answer := c.answer
	if offer != nil {
		answer, err = c.media.Update(offer)
		if err == nil {
			c.answer = answer
		}
	}
	c.update.Unlock()
	if err != nil {
		if !errors.Is(err, endpoint.ErrNoMedia) && !errors.Is(err, endpoint.ErrInvalidSDP) {
			err = fmt.Errorf("%w: %w", endpoint.ErrNoMedia, err)
		}
		s.refuse(req, tx, err)
		return
	}
	timer := c.session.refreshed(asked) // a 2xx refreshes the session
	if req.Method == sip.UPDATE && offer == nil {
		s.respond(req, tx, 200, "OK", nil, timer...)
		return
	}
	contact := s.contact(req)
	s.respond(req, tx, 200, "OK", answer, append(timer, sip.NewHeader("Content-Type", "application/sdp"), &contact)...)
}

// onInfo takes DTMF sent as SIP INFO (application/dtmf-relay), and the
// video fast-update requests room systems send (XML media_control with
// picture_fast_update): the room is asked for a keyframe of the caller's
// composite.
func (s *Server) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	c := s.lookup(req)
	if c == nil {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	t, err := bodyType(req)
	if err != nil {
		s.refuse(req, tx, err)
		return
	}
	switch t {
	case "application/dtmf-relay", "application/dtmf":
		key, err := parseDTMF(t, req.Body())
		if err != nil {
			s.refuse(req, tx, err)
			return
		}
		s.respond(req, tx, 200, "OK", nil)
		s.digit(c, key)
	case "application/media_control+xml", "":
		s.respond(req, tx, 200, "OK", nil)
		if bytes.Contains(req.Body(), []byte("picture_fast_update")) {
			c.media.PictureFastUpdate()
		}
	default:
		s.refuse(req, tx, fmt.Errorf("%w: %s", ErrUnsupportedMediaType, t))
	}
}

// digit passes on a DTMF key of call c.
func (s *Server) digit(c *call, key rune) {
	if c.lobby != nil && c.lobby.take(key) {
		return
	}
	if s.cfg.OnDigit != nil {
		s.cfg.OnDigit(c.room.ID(), c.pid, key)
	}
}
