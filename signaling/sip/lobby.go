package sip

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/tessera-mcu/tessera/room"
)

// The PIN prompt: a call to a room with a PIN, dialled without one
// (sip:<room>@host), is answered without joining the room. The caller
// hears the prompt tones (tones.go) and keys the PIN in DTMF, as RTP
// telephone-events or SIP INFO, ending it with # or typing all its
// digits (* starts over). A right PIN joins the room; a wrong one counts
// as a wrong guess of the caller's address (the lockout a wrong PIN in
// the URI also feeds) and the prompt starts again; after pinAttempts
// wrong PINs, or Config.PinWait without a complete entry, Tessera plays the
// failure tones and hangs up.
const (
	pinAttempts = 3
	// pinKeys bounds the keys waiting for the prompt; more are dropped.
	pinKeys = 32
)

// Why a prompt ends without joining.
var (
	errPinRefused = errors.New("sip: wrong PIN keyed too many times")
	errPinTimeout = errors.New("sip: no PIN keyed in time")
)

// Where a lobby is: prompting (keys go to it), admitted (keys go to
// Config.OnDigit as any call's) or over (keys are dropped).
const (
	lobbyPrompting int32 = iota
	lobbyAdmitted
	lobbyOver
)

// lobby is the PIN prompt of a call.
type lobby struct {
	display string
	pinLen  int
	keys    chan rune
	// acked is closed once the caller acknowledged the 200 OK.
	acked   chan struct{}
	state   atomic.Int32
	dropped atomic.Uint64
}

func newLobby(display string, pinLen int) *lobby {
	return &lobby{display: display, pinLen: pinLen, keys: make(chan rune, pinKeys), acked: make(chan struct{})}
}

// take passes a DTMF key to the prompt; false once the caller is in the
// room (the key is then the call's like any other).
func (l *lobby) take(key rune) bool {
	switch l.state.Load() {
	case lobbyAdmitted:
		return false
	case lobbyPrompting:
		select {
		case l.keys <- key:
		default:
			l.dropped.Add(1)
		}
	}
	return true
}

// promptCall is a call answered for its PIN prompt: not in the room yet.
func (s *Server) promptCall(id string, dlg dialog, r *room.Room, mc MediaCall, source, display string, answer []byte) *call {
	return &call{s: s, id: id, dlg: dlg, room: r, media: mc, source: source,
		stop: make(chan struct{}), answer: answer, lobby: newLobby(display, len(r.Config().Pin))}
}

// admit runs the call's PIN prompt, if it has one, and joins the room
// once the right PIN is in. An error is why the call ends without
// having joined.
func (c *call) admit() (err error) {
	l := c.lobby
	if l == nil {
		return nil
	}
	defer func() {
		if err != nil {
			l.state.Store(lobbyOver)
		}
	}()
	if err := c.interrupted(l.acked); err != nil {
		return err
	}
	w, err := c.media.Prompt()
	if err != nil {
		return err
	}
	p := startTones(w)
	defer func() {
		p.stop()
		if n := l.dropped.Load(); n > 0 || p.failed > 0 {
			c.s.log.Debug("SIP PIN prompt", "room", c.room.ID(), "from", c.source,
				"keys_dropped", n, "frames_not_sent", p.failed)
		}
	}()
	prompt, wrong := synth(promptTones), synth(wrongTones)
	p.play(nil, prompt)
	deadline := time.NewTimer(c.s.cfg.PinWait)
	defer deadline.Stop()
	entry, attempts := "", 0
	for {
		var key rune
		select {
		case <-c.stop:
			return c.why
		case <-c.media.Done():
			return errMediaEnded
		case <-c.s.closing:
			return ErrClosed
		case <-deadline.C:
			return c.refusePin(p, errPinTimeout)
		case key = <-l.keys:
		}
		switch {
		case key == '*':
			entry = ""
			continue
		case key != '#':
			entry += string(key)
			if len(entry) < l.pinLen {
				continue
			}
		}
		if entry == "" {
			continue
		}
		if !c.s.guesses.Allow(c.source) {
			return c.refusePin(p, ErrLockedOut)
		}
		if c.room.CheckPin(entry) {
			if err := c.interrupted(p.play(synth(acceptedTones), nil)); err != nil {
				return err
			}
			p.stop() // the room's mix takes over
			return c.join(entry)
		}
		c.s.guesses.Fail(c.source)
		attempts++
		c.s.log.Debug("SIP caller keyed a wrong PIN", "room", c.room.ID(), "from", c.source, "attempt", attempts)
		if attempts >= pinAttempts {
			return c.refusePin(p, errPinRefused)
		}
		entry = ""
		p.play(wrong, prompt)
		deadline.Reset(c.s.cfg.PinWait)
	}
}

// refusePin plays the failure tones; the call then ends for why.
func (c *call) refusePin(p *tonePlayer, why error) error {
	if err := c.interrupted(p.play(synth(failedTones), nil)); err != nil {
		return err
	}
	return why
}

// interrupted waits for ch to close; an error is why the call ended
// first.
func (c *call) interrupted(ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-c.stop:
		return c.why
	case <-c.media.Done():
		return errMediaEnded
	case <-c.s.closing:
		return ErrClosed
	}
}

// join makes the caller a participant of the room, its media attached,
// as a call dialled with the PIN joins.
func (c *call) join(pin string) error {
	l := c.lobby
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	joined, err := c.room.Enter(ctx, room.JoinRequest{Display: l.display, Pin: pin})
	if err != nil {
		return err
	}
	c.pid = joined.Me.ID
	c.sub = c.room.Subscribe(16)
	if err := c.media.Attach(ctx, c.room.Member(c.pid)); err != nil {
		c.sub.Close()
		c.s.leave(c.room, c.pid)
		return err
	}
	l.state.Store(lobbyAdmitted)
	c.s.log.Info("SIP caller keyed the PIN", "room", c.room.ID(), "participant", c.pid, "from", c.source, "display", joined.Me.Display)
	return nil
}
