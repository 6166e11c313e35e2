package sip

import (
	"context"
	"errors"
	"fmt"

	"github.com/tessera-mcu/tessera/codec/opus"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/plainrtp"
)

// PlainRTP is the Media of calls made by a plain-RTP engine: RTP/AVP
// audio in PCMU, PCMA, G.722 or Opus, DTMF as telephone-events, the call's end
// when RTP stops for the engine's timeout.
type PlainRTP struct{ Engine *plainrtp.Engine }

var (
	_ Media   = PlainRTP{}
	_ Offerer = PlainRTP{}
)

// Ports are the engine's media port pairs: all, and those calls hold.
func (m PlainRTP) Ports() (total, used int) { return m.Engine.Ports() }

// Answer opens a plain-RTP session for offer.
func (p PlainRTP) Answer(offer []byte, digit func(rune)) (MediaCall, []byte, error) {
	s, err := p.Engine.Offer(string(offer), plainrtp.SessionOptions{
		OnDigit: func(d plainrtp.Digit) { digit(rune(d.Key)) },
	})
	if err != nil {
		return nil, nil, mediaErr(err)
	}
	return plainCall{s}, []byte(s.Answer()), nil
}

// plainCall is a plain-RTP session as a call's media.
type plainCall struct{ s *plainrtp.Session }

func (c plainCall) Attach(ctx context.Context, m *room.Member) error { return c.s.Attach(ctx, m) }

func (c plainCall) Update(offer []byte) ([]byte, error) {
	answer, err := c.s.Update(string(offer))
	return []byte(answer), err
}

func (c plainCall) Prompt() (PCMWriter, error) {
	return &sessionPCM{s: c.s, buf: make([]byte, 0, opus.MaxPacketBytes)}, nil
}

// SendDigits sends keys as RFC 4733 telephone-events.
func (c plainCall) SendDigits(ctx context.Context, keys string) error {
	return digitsErr(c.s.SendDigits(ctx, keys))
}

// CheckDigits tells whether SendDigits would take keys.
func (c plainCall) CheckDigits(keys string) error { return digitsErr(c.s.CheckSend(keys)) }

// digitsErr gives the session's refusals of digits the room's sentinels.
func digitsErr(err error) error {
	switch {
	case errors.Is(err, plainrtp.ErrInvalidDigits):
		return fmt.Errorf("%w: %w", room.ErrInvalidValue, err)
	case errors.Is(err, plainrtp.ErrNoTelephoneEvent):
		return fmt.Errorf("%w: %w", room.ErrCallNoDTMF, err)
	}
	return err
}

func (c plainCall) Done() <-chan struct{}   { return c.s.Done() }
func (c plainCall) PictureFastUpdate() bool { return c.s.PictureFastUpdate() }
func (c plainCall) Close() error            { return c.s.Close() }

// Offer opens a plain-RTP session for a call Tessera places.
func (p PlainRTP) Offer(digit func(rune)) (OfferedCall, []byte, error) {
	s, offer, err := p.Engine.NewOffer(plainrtp.SessionOptions{
		OnDigit: func(d plainrtp.Digit) { digit(rune(d.Key)) },
	})
	if err != nil {
		return nil, nil, mediaErr(err)
	}
	return plainCall{s}, []byte(offer), nil
}

// mediaErr marks the engine's running out of ports as the user agent's
// ErrNoMediaPorts (503).
func mediaErr(err error) error {
	if errors.Is(err, plainrtp.ErrNoPorts) {
		return fmt.Errorf("%w: %w", ErrNoMediaPorts, err)
	}
	return err
}

func (c plainCall) Answered(answer []byte) error { return c.s.Answered(string(answer)) }
