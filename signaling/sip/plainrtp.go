package sip

import (
	"context"

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

// Answer opens a plain-RTP session for offer.
func (p PlainRTP) Answer(offer []byte, digit func(rune)) (MediaCall, []byte, error) {
	s, err := p.Engine.Offer(string(offer), plainrtp.SessionOptions{
		OnDigit: func(d plainrtp.Digit) { digit(rune(d.Key)) },
	})
	if err != nil {
		return nil, nil, err
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

func (c plainCall) Done() <-chan struct{}   { return c.s.Done() }
func (c plainCall) PictureFastUpdate() bool { return c.s.PictureFastUpdate() }
func (c plainCall) Close() error            { return c.s.Close() }

// Offer opens a plain-RTP session for a call Tessera places.
func (p PlainRTP) Offer(digit func(rune)) (OfferedCall, []byte, error) {
	s, offer, err := p.Engine.NewOffer(plainrtp.SessionOptions{
		OnDigit: func(d plainrtp.Digit) { digit(rune(d.Key)) },
	})
	if err != nil {
		return nil, nil, err
	}
	return plainCall{s}, []byte(offer), nil
}

func (c plainCall) Answered(answer []byte) error { return c.s.Answered(string(answer)) }
