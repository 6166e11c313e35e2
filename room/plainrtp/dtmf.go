package plainrtp

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Digit is one DTMF key press the remote party sent.
type Digit struct {
	// Key is '0'..'9', '*', '#' or 'A'..'D'.
	Key byte
	// Duration is how long the key was held, as the sender reports it.
	Duration time.Duration
}

// dtmfKeys maps RFC 4733 section 3.2 event codes 0..15 to keys.
const dtmfKeys = "0123456789*#ABCD"

// dtmfState follows the telephone-events of one stream (RFC 4733): an
// event is the packets sharing one RTP timestamp; its last packets carry
// the end bit, usually three times over. A digit is reported once per
// event, on its first end packet, or when the next event starts if every
// end packet was lost.
type dtmfState struct {
	active   bool // an event is under way (or just ended)
	ts       uint32
	event    uint8
	duration uint16
	ended    bool // the current event was reported
}

// packet takes one telephone-event payload with RTP timestamp ts at the
// event clock, reporting finished digits to emit.
func (d *dtmfState) packet(ts uint32, payload []byte, clock uint32, emit func(Digit)) error {
	if len(payload) < 4 {
		return fmt.Errorf("telephone-event of %d bytes (want 4)", len(payload))
	}
	event, end := payload[0], payload[1]&0x80 != 0
	duration := binary.BigEndian.Uint16(payload[2:4])
	switch {
	case d.active && ts == d.ts:
		if d.ended {
			return nil // a repeated end packet
		}
		d.duration = max(d.duration, duration)
	case d.active && int32(ts-d.ts) < 0:
		return nil // a late packet of an older event
	default:
		if d.active && !d.ended {
			d.report(clock, emit) // its end packets were all lost
		}
		*d = dtmfState{active: true, ts: ts, event: event, duration: duration}
	}
	if end {
		d.report(clock, emit)
	}
	return nil
}

// report emits the current event once, if it is a key.
func (d *dtmfState) report(clock uint32, emit func(Digit)) {
	d.ended = true
	if int(d.event) >= len(dtmfKeys) || clock == 0 {
		return // flash and other events are not keys
	}
	emit(Digit{Key: dtmfKeys[d.event], Duration: time.Duration(d.duration) * time.Second / time.Duration(clock)})
}
