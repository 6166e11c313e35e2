package sip

import (
	"context"
	"errors"
	"sync"

	"github.com/emiago/sipgo"

	"github.com/tessera-mcu/tessera/room"
)

// call is one answered call: a dialog, a participant of a room and its
// media. Its goroutine (run) owns its end.
type call struct {
	s      *Server
	dlg    *sipgo.DialogServerSession
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
}

// errRemoteBye is why a call ends when the caller hangs up.
var errRemoteBye = errors.New("sip: caller hung up")

// end asks the call's goroutine to end the call for reason.
func (c *call) end(reason error) {
	c.stopOnce.Do(func() {
		c.why = reason
		close(c.stop)
	})
}

// run waits for the call's end: the caller's BYE, the media's end, the
// participant kicked or the room destroyed, or the server closing. Then
// it takes the participant out, closes the media and, unless the caller
// hung up, sends a BYE.
func (c *call) run() {
	defer c.s.callsWG.Done()
	why := c.wait()
	c.sub.Close()
	c.s.leave(c.room, c.pid)
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
	delete(c.s.calls, c.dlg.ID)
	c.s.mu.Unlock()
	_ = c.dlg.Close()
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
