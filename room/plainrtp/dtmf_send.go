package plainrtp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pion/rtp"
)

// Timing of the digits Tessera sends (RFC 4733 section 2.5): each key is
// an event of digitTone, reported every digitUpdate while it lasts, then
// ended by digitEnds packets with the E bit, one every digitEndSpacing;
// the next key starts digitGap after the previous one ended.
const (
	digitTone       = 100 * time.Millisecond
	digitGap        = 70 * time.Millisecond
	digitUpdate     = 50 * time.Millisecond
	digitEnds       = 3
	digitEndSpacing = 20 * time.Millisecond
	// digitVolume is the power level stated for each event: -10 dBm0.
	digitVolume = 10
)

// MaxDigits is the most keys one SendDigits call sends.
const MaxDigits = 64

// CheckDigits tells whether keys is something SendDigits sends: 1 to
// MaxDigits keys among 0-9, *, # and A-D (lower case a-d too). The error
// wraps ErrInvalidDigits.
func CheckDigits(keys string) error {
	if keys == "" || len(keys) > MaxDigits {
		return fmt.Errorf("%w: %d keys (1 to %d)", ErrInvalidDigits, len(keys), MaxDigits)
	}
	for i := range len(keys) {
		if strings.IndexByte(dtmfKeys, upperKey(keys[i])) < 0 {
			return fmt.Errorf("%w: %q is not a key", ErrInvalidDigits, keys[i])
		}
	}
	return nil
}

func upperKey(c byte) byte {
	if c >= 'a' && c <= 'd' {
		return c - 'a' + 'A'
	}
	return c
}

// CheckSend tells whether SendDigits would take keys now: an error
// wrapping ErrInvalidDigits, ErrNoTelephoneEvent or ErrClosed if not.
func (s *Session) CheckSend(keys string) error {
	if err := CheckDigits(keys); err != nil {
		return err
	}
	select {
	case <-s.done:
		return ErrClosed
	default:
	}
	s.mu.Lock()
	dtmf := s.r.dtmf
	s.mu.Unlock()
	if !dtmf {
		return ErrNoTelephoneEvent
	}
	return nil
}

// SendDigits sends keys to the remote party as RFC 4733 telephone-events
// on the audio stream (its SSRC and sequence numbers, timestamps on its
// clock), in the payload type the party offered: per key a packet every
// 50 ms with the marker bit on the first, three end packets after 100 ms,
// then 70 ms of silence before the next key. The mix keeps flowing
// meanwhile. It returns once every key was sent, with an error wrapping
// ErrNoTelephoneEvent if the party did not offer telephone-event,
// ErrInvalidDigits for keys CheckDigits refuses, ErrClosed once the
// session is closed, or the context's error (a key under way is ended
// first). Calls are served one at a time.
func (s *Session) SendDigits(ctx context.Context, keys string) error {
	if err := CheckDigits(keys); err != nil {
		return err
	}
	s.digitsMu.Lock()
	defer s.digitsMu.Unlock()
	for i := range len(keys) {
		select {
		case <-s.done:
			return ErrClosed
		default:
		}
		s.mu.Lock()
		r := s.r
		s.mu.Unlock()
		if !r.dtmf {
			return ErrNoTelephoneEvent
		}
		if err := s.sendDigit(ctx, uint8(strings.IndexByte(dtmfKeys, upperKey(keys[i]))), r); err != nil {
			return err
		}
	}
	return nil
}

// sendDigit sends one event and waits out the gap after it.
func (s *Session) sendDigit(ctx context.Context, event uint8, r remote) error {
	w := &s.send
	start := time.Now()
	w.mu.Lock()
	ts := w.eventTS(start, r.codec.Clock)
	w.mu.Unlock()
	ticks := func(d time.Duration) uint16 { return uint16(d * time.Duration(r.dtmfClock) / time.Second) }
	packet := func(d time.Duration, end, marker bool) {
		payload := make([]byte, 4)
		payload[0], payload[1] = event, digitVolume
		if end {
			payload[1] |= 0x80
		}
		binary.BigEndian.PutUint16(payload[2:], ticks(d))
		s.mu.Lock()
		to := s.sendTo
		s.mu.Unlock()
		if !to.IsValid() {
			return
		}
		w.mu.Lock()
		w.write(rtp.Header{Version: 2, PayloadType: r.dtmfPT, SequenceNumber: w.seq, Timestamp: ts,
			SSRC: s.ssrc, Marker: marker}, payload, to)
		w.mu.Unlock()
	}
	// wait sleeps until start+d; false if the call or ctx ended first
	// (err says which).
	var err error
	wait := func(d time.Duration) bool {
		t := time.NewTimer(time.Until(start.Add(d)))
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-s.done:
			err = ErrClosed
		case <-ctx.Done():
			err = ctx.Err()
		}
		return false
	}
	// cut ends an event cut short by ctx with one end packet, so that the
	// party's tone stops.
	cut := func(first bool) error {
		if !errors.Is(err, ErrClosed) {
			packet(time.Since(start), true, first)
		}
		return err
	}
	for d := digitUpdate; d < digitTone; d += digitUpdate {
		if !wait(d) {
			return cut(d == digitUpdate)
		}
		packet(d, false, d == digitUpdate)
	}
	if !wait(digitTone) {
		return cut(false)
	}
	packet(digitTone, true, false)
	for i := 1; i < digitEnds; i++ {
		if !wait(digitTone + time.Duration(i)*digitEndSpacing) {
			return err
		}
		packet(digitTone, true, false)
	}
	if !wait(digitTone + digitGap) {
		return err
	}
	return nil
}

// eventTS is the RTP time (at the audio clock) of an event starting at
// now (w.mu held): the audio stream's time now, and never before the
// previous event's end and gap. While no audio is sent, the stream's
// time moves on with the events.
func (w *sender) eventTS(now time.Time, clock uint32) uint32 {
	ts := w.ts
	if !w.lastAt.IsZero() {
		ts = w.lastTS + uint32(now.Sub(w.lastAt)*time.Duration(clock)/time.Second)
	}
	if w.eventsSent && int32(ts-w.nextEventTS) < 0 {
		ts = w.nextEventTS
	}
	w.nextEventTS = ts + uint32((digitTone+digitGap)*time.Duration(clock)/time.Second)
	w.eventsSent = true
	if w.lastAt.IsZero() {
		w.ts = w.nextEventTS
	}
	return ts
}
