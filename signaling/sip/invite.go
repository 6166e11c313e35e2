package sip

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tessera-mcu/tessera/room"
)

// onInvite answers an INVITE: a new call (no To tag) joins the dialled
// room, a re-INVITE updates a call's media.
func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if _, ok := req.To().Params.Get("tag"); ok {
		s.onReoffer(req, tx)
		return
	}
	if ok, wait := s.flood.allow(req.Source(), time.Now()); !ok {
		s.stats.rateLimited.Add(1)
		r := refuse(ErrRateLimited)
		secs := max(1, int(math.Ceil(wait.Seconds())))
		s.respond(req, tx, r.code, r.reason, nil, sip.NewHeader("Retry-After", strconv.Itoa(secs)))
		return
	}
	if err := s.answer(req, tx); err != nil {
		s.log.Debug("SIP call refused", "from", req.Source(), "to", req.Recipient.User, "err", err)
	}
}

// answer takes a new call from its INVITE to its ACK.
func (s *Server) answer(req *sip.Request, tx sip.ServerTransaction) error {
	fail := func(err error) error {
		s.stats.refused.Add(1)
		s.refuse(req, tx, err)
		return err
	}
	id, pin, err := target(req.Recipient)
	if err != nil {
		return fail(err)
	}
	if s.cfg.Locator != nil {
		if _, err := s.rooms.Get(id); errors.Is(err, room.ErrRoomNotFound) {
			if here, err := s.redirect(req, tx, id); !here {
				return err
			}
		}
	}
	offer, err := sdpOffer(req)
	if err != nil {
		return fail(err)
	}
	if _, canOffer := s.media.(Offerer); offer == nil && !canOffer {
		return fail(ErrNoOffer)
	}
	session, err := s.negotiateTimer(req)
	if err != nil {
		return fail(err)
	}
	r, err := s.rooms.Get(id)
	if err != nil {
		return fail(err)
	}
	if r.Config().Pin != "" {
		if !s.guesses.Allow(req.Source()) {
			return fail(ErrLockedOut)
		}
		if pin != "" && !r.CheckPin(pin) {
			s.guesses.Fail(req.Source())
			return fail(room.ErrUnauthorized)
		}
	}
	ua := sipgo.DialogUA{Client: s.client, ContactHDR: s.contact(req), RewriteContact: true}
	dlg, err := ua.ReadInvite(req, tx)
	if err != nil {
		return fail(fmt.Errorf("%w: %v", ErrBadRequest, err))
	}
	server := sip.NewHeader("Server", s.cfg.UserAgent)
	_ = dlg.Respond(100, "Trying", nil, server)
	// refuseDialog sends the final response within the dialog (its To
	// tag) and waits for its ACK.
	refuseDialog := func(err error) error {
		if errors.Is(err, ErrCanceled) || dlg.Context().Err() != nil {
			s.stats.cancelled.Add(1)
			return ErrCanceled // the stack answered 487
		}
		s.stats.refused.Add(1)
		rf := refuse(err)
		_ = dlg.Respond(rf.code, rf.reason, nil, append(s.refusalHeaders(rf.code), server)...)
		return err
	}

	if offer == nil {
		return s.answerDelayed(dlg, r, pin, session, refuseDialog)
	}
	var owner atomic.Pointer[call] // the call, once it exists, for digits
	mc, answer, err := s.media.Answer(offer, func(key rune) {
		if c := owner.Load(); c != nil {
			s.digit(c, key)
		}
	})
	if err != nil {
		return refuseDialog(err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = mc.Close()
		}
	}()
	_ = dlg.Respond(180, "Ringing", nil, server)
	if err := s.ring(dlg.Context()); err != nil {
		return refuseDialog(err)
	}
	c, err := s.enter(dlg, r, mc, pin, answer, session)
	if err != nil {
		return refuseDialog(err)
	}
	ok = true
	owner.Store(c)
	session.start(c)
	go c.run()

	// A BYE that interrupts the wait for the ACK came from a caller that
	// had the 200 OK (its ACK, sent first, may be handled after it).
	if err := s.writeOK(dlg, answer, session); err != nil && !c.acked.Load() && !(c.byed.Load() && errors.Is(err, errOKInterrupted)) {
		c.end(err)
		return err
	}
	// Answered (an ACK and a BYE at once: the call is up, and ending).
	s.stats.answered.Add(1)
	if c.lobby != nil {
		close(c.lobby.acked)
		s.log.Info("SIP call up, waiting for the PIN", "room", r.ID(), "from", c.source)
		return nil
	}
	s.log.Info("SIP call up", "room", r.ID(), "participant", c.pid, "from", c.source, "display", displayName(req.From()))
	return nil
}

// enter makes the call of an INVITE whose media is negotiated: the
// caller joins the room, its media attached, or, in a room with a PIN
// dialled without one, waits for the PIN prompt (lobby.go); the call is
// registered with the server. The caller of enter starts it.
func (s *Server) enter(dlg *sipgo.DialogServerSession, r *room.Room, mc MediaCall, pin string, sdp []byte, session *sessionTimer) (*call, error) {
	req := dlg.InviteRequest
	display := displayName(req.From())
	if r.Config().Pin != "" && pin == "" {
		c := s.promptCall(dlg.ID, dlg, r, mc, req.Source(), display, sdp)
		c.session = session
		if !s.register(c) {
			return nil, ErrClosed
		}
		return c, nil
	}
	ctx, cancel := context.WithTimeout(dlg.Context(), 10*time.Second)
	defer cancel()
	joined, err := r.Enter(ctx, room.JoinRequest{Display: display, Pin: pin})
	if err != nil {
		return nil, err
	}
	pid := joined.Me.ID
	c := &call{s: s, id: dlg.ID, dlg: dlg, room: r, pid: pid, media: mc, source: req.Source(),
		sub: r.Subscribe(16), stop: make(chan struct{}), answer: sdp, session: session}
	if err := mc.Attach(ctx, r.Member(pid)); err != nil {
		c.sub.Close()
		s.leave(r, pid)
		return nil, err
	}
	if !s.register(c) {
		c.sub.Close()
		s.leave(r, pid)
		return nil, ErrClosed
	}
	return c, nil
}

// writeOK sends the 200 OK of an INVITE with Tessera's SDP and waits for
// its ACK: ErrCanceled when the caller cancelled first, an error wrapping
// ErrNoAck when no ACK came.
func (s *Server) writeOK(dlg *sipgo.DialogServerSession, sdp []byte, session *sessionTimer) error {
	res := sip.NewSDPResponseFromRequest(dlg.InviteRequest, sdp)
	res.AppendHeader(sip.NewHeader("Server", s.cfg.UserAgent))
	res.AppendHeader(sip.NewHeader("Allow", allowed))
	for _, h := range session.headers() {
		res.AppendHeader(h)
	}
	if dlg.Context().Err() != nil {
		return ErrCanceled
	}
	if err := dlg.WriteResponse(res); err != nil {
		if dlg.Context().Err() != nil {
			return errOKInterrupted
		}
		return fmt.Errorf("%w: %v", ErrNoAck, err)
	}
	return nil
}

// ring lets a call ring for the configured time; it ends early when the
// caller cancels (ctx) or the server closes.
func (s *Server) ring(ctx context.Context) error {
	var wait <-chan time.Time
	if s.cfg.Ring > 0 {
		t := time.NewTimer(s.cfg.Ring)
		defer t.Stop()
		wait = t.C
	} else {
		now := make(chan time.Time, 1)
		now <- time.Time{}
		wait = now
	}
	select {
	case <-ctx.Done():
		return ErrCanceled
	case <-s.closing:
		return ErrClosed
	case <-wait:
		return nil
	}
}

// leave takes a participant out of its room (its media closes with it).
func (s *Server) leave(r *room.Room, pid room.ParticipantID) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Leave(ctx, pid); err != nil && !errors.Is(err, room.ErrParticipantNotFound) && !errors.Is(err, room.ErrClosed) {
		s.log.Debug("SIP participant leaving", "room", r.ID(), "participant", pid, "err", err)
	}
}

// register adds a call to the server's table unless the server closes.
func (s *Server) register(c *call) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.calls[c.id] = c
	s.callsWG.Add(1)
	return true
}

// lookup is the call a request within a dialog belongs to.
func (s *Server) lookup(req *sip.Request) *call {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[id]
}
