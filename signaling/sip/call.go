package sip

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"

	"github.com/tessera-mcu/tessera/room"
)

// dialog is what a call needs of its SIP dialog, whichever side placed
// it: a *sipgo.DialogServerSession for a call that came in, an outDialog
// for one Tessera placed.
type dialog interface {
	// ReadBye answers the other side's BYE.
	ReadBye(req *sip.Request, tx sip.ServerTransaction) error
	// ReadRequest checks a request within the dialog (its CSeq).
	ReadRequest(req *sip.Request, tx sip.ServerTransaction) error
	// Bye ends the dialog from Tessera's side.
	Bye(ctx context.Context) error
	Close() error
}

// call is one answered call: a dialog, a participant of a room and its
// media. Its goroutine (run) owns its end.
type call struct {
	s *Server
	// id keys the call in the server's table: the dialog ID as a request
	// from the other side computes it (sip.DialogIDFromRequestUAS).
	id     string
	dlg    dialog
	room   *room.Room
	pid    room.ParticipantID
	media  MediaCall
	sub    *room.Subscription
	source string

	stop     chan struct{}
	stopOnce sync.Once
	why      error // what closed stop

	// update serializes the caller's new offers; answer is the latest
	// answer, sent again for an offerless re-INVITE.
	update sync.Mutex
	answer []byte

	// out is the dial-out call this is (nil: a call that came in); its
	// end is told to the room as a hung-up call.
	out *room.CallInfo
	// session is the call's session timer (nil: none; see timer.go).
	session *sessionTimer
	// lobby is the PIN prompt of a call answered before it joins the
	// room (nil: the call joined as it was answered).
	lobby *lobby
	// acked: the caller's ACK of the 200 OK came (it may be followed by
	// a BYE before the 200's sender has seen it).
	acked atomic.Bool
	// byed: the caller's BYE came (set before the dialog ends).
	byed atomic.Bool
}

// errRemoteBye is why a call ends when the other side hangs up.
var errRemoteBye = errors.New("sip: the other side hung up")

// end asks the call's goroutine to end the call for reason.
func (c *call) end(reason error) {
	c.stopOnce.Do(func() {
		c.why = reason
		close(c.stop)
	})
}

// run first runs the call's PIN prompt, if it has one (admit), then
// waits for the call's end: the caller's BYE, the media's end, the
// participant kicked or the room destroyed, or the server closing. Then
// it takes the participant out, closes the media and, unless the caller
// hung up, sends a BYE.
func (c *call) run() {
	defer c.s.callsWG.Done()
	why := c.admit()
	if why == nil {
		why = c.wait()
		c.sub.Close()
		c.s.leave(c.room, c.pid)
	}
	c.session.stop()
	_ = c.media.Close()
	if !errors.Is(why, errRemoteBye) {
		ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.ByeTimeout)
		if err := c.dlg.Bye(ctx); err != nil {
			c.s.log.Debug("SIP BYE not answered", "room", c.room.ID(), "participant", c.pid, "err", err)
		}
		cancel()
	}
	// The call leaves the table only now: a late ACK of its 200 OK
	// still finds it while the BYE waits for the dialog's confirmation.
	c.s.mu.Lock()
	delete(c.s.calls, c.id)
	c.s.mu.Unlock()
	_ = c.dlg.Close()
	if c.out != nil {
		c.room.NotifyCall(*c.out, room.CallHungUp, hangupReason(why))
	}
	c.s.log.Info("SIP call ended", "room", c.room.ID(), "participant", c.pid, "why", why.Error())
}

// Reasons a call ends on Tessera's side.
var (
	errMediaEnded = errors.New("sip: media ended (no RTP)")
	errKicked     = errors.New("sip: participant taken out of the room (kicked)")
	errDestroyed  = errors.New("sip: room destroyed")
)

func (c *call) wait() error {
	events := c.sub.C
	for {
		select {
		case <-c.stop:
			return c.why
		case <-c.media.Done():
			return errMediaEnded
		case <-c.s.closing:
			return ErrClosed
		case ev, ok := <-events:
			switch {
			case !ok || ev.Kind == room.EventDestroyed:
				return errDestroyed
			case ev.Kind == room.EventLeft && ev.Participant == c.pid && ev.Reason == "destroyed":
				return errDestroyed
			case ev.Kind == room.EventLeft && ev.Participant == c.pid:
				return errKicked
			}
		}
	}
}
