package sip

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tessera-mcu/tessera/room"
)

// Delayed offer (RFC 3261 section 13.2.1): an INVITE without SDP, as PBX
// trunks set to delayed offer send, is answered with Tessera's own offer
// in the 200 OK, and the caller's answer comes in the ACK. Only then is
// the media started and the caller let into the room (or the PIN
// prompt). An ACK without a usable answer ends the call with a BYE.

// errNoAnswerInAck is why a delayed-offer call ends when its ACK
// carries no SDP answer.
var errNoAnswerInAck = errors.New("sip: the ACK carries no SDP answer to Tessera's offer")

// ackWait is a delayed-offer call waiting for its ACK.
type ackWait struct {
	dlg  *sipgo.DialogServerSession
	body chan []byte // the ACK's SDP; capacity 1
}

// readDelayedAck takes the ACK of a delayed-offer call, if req is one.
func (s *Server) readDelayedAck(req *sip.Request, tx sip.ServerTransaction) {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return
	}
	s.mu.Lock()
	w := s.acks[id]
	s.mu.Unlock()
	if w == nil || req.CSeq() == nil || req.CSeq().SeqNo != w.dlg.InviteRequest.CSeq().SeqNo {
		return
	}
	var body []byte
	if t, err := bodyType(req); err == nil && t == "application/sdp" {
		body = req.Body()
	}
	// The answer is there before the dialog is confirmed, which is what
	// the 200 OK's sender waits for.
	select {
	case w.body <- body:
	default: // a retransmitted ACK
	}
	_ = w.dlg.ReadAck(req, tx)
}

// answerDelayed answers an INVITE that carries no offer with Tessera's,
// and lets the caller in once the ACK brings the answer. refuse sends a
// final error response (before the 200 OK).
func (s *Server) answerDelayed(dlg *sipgo.DialogServerSession, r *room.Room, pin string, session *sessionTimer, refuse func(error) error) error {
	off, ok := s.media.(Offerer)
	if !ok {
		return refuse(ErrNoOffer)
	}
	var owner atomic.Pointer[call]
	mc, offer, err := off.Offer(func(key rune) {
		if c := owner.Load(); c != nil {
			s.digit(c, key)
		}
	})
	if err != nil {
		return refuse(err)
	}
	up := false
	defer func() {
		if !up {
			_ = mc.Close()
		}
	}()
	_ = dlg.Respond(180, "Ringing", nil, sip.NewHeader("Server", s.cfg.UserAgent))
	if err := s.ring(dlg.Context()); err != nil {
		return refuse(err)
	}
	w := &ackWait{dlg: dlg, body: make(chan []byte, 1)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return refuse(ErrClosed)
	}
	s.acks[dlg.ID] = w
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.acks, dlg.ID)
		s.mu.Unlock()
	}()
	if err := s.writeOK(dlg, offer, session); err != nil {
		return err
	}
	var answer []byte
	select {
	case answer = <-w.body:
	default:
	}
	hangUp := func(why error) error {
		s.stats.refused.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ByeTimeout)
		defer cancel()
		_ = dlg.Bye(ctx)
		s.log.Info("SIP call with a delayed offer ended", "room", r.ID(), "from", dlg.InviteRequest.Source(), "err", why)
		return why
	}
	if len(answer) == 0 {
		return hangUp(errNoAnswerInAck)
	}
	if err := mc.Answered(answer); err != nil {
		return hangUp(err)
	}
	c, err := s.enter(dlg, r, mc, pin, offer, session)
	if err != nil {
		return hangUp(err)
	}
	up = true
	owner.Store(c)
	session.start(c)
	go c.run()
	s.stats.answered.Add(1)
	if c.lobby != nil {
		close(c.lobby.acked)
	}
	s.log.Info("SIP call up (delayed offer)", "room", r.ID(), "participant", c.pid, "from", c.source)
	return nil
}
