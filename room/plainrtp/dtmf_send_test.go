package plainrtp

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// SendDigits while the mix flows: the phone's own DTMF receiver decodes
// the keys with their 100 ms durations; each event starts with the
// marker bit and ends with three E packets; events and audio share one
// SSRC and one unbroken sequence; the events' timestamps sit on the
// audio clock, and events are at least tone plus gap apart.
func TestSendDigits(t *testing.T) {
	e := testEngine(t, Config{})
	p := newPhone(t)
	s := p.dial(e, SessionOptions{}, "0 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15")

	// The room's mix: 20 ms of PCMU every 20 ms.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		frame := make([]byte, 160)
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_ = s.WriteFrame(endpoint.Frame{Data: frame, Duration: 20 * time.Millisecond})
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	const keys = "19*#a"
	if err := s.SendDigits(context.Background(), keys); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	close(stop)
	wg.Wait()

	var pkts []*rtp.Packet
	for {
		pkt, ok := read(t, p.rtp, 200*time.Millisecond)
		if !ok {
			break
		}
		pkts = append(pkts, pkt)
	}
	var (
		digits       []Digit
		rx           dtmfState
		lastAudioTS  uint32
		audioSeen    bool
		events       []uint32 // each event's timestamp
		ends         = map[uint32]int{}
		markers      = map[uint32]int{}
		firstOfEvent = map[uint32]bool{}
	)
	for i, pkt := range pkts {
		if pkt.SSRC != s.ssrc {
			t.Fatalf("packet %d: SSRC %x, want the audio's %x", i, pkt.SSRC, s.ssrc)
		}
		if i > 0 && pkt.SequenceNumber != pkts[i-1].SequenceNumber+1 {
			t.Errorf("packet %d (pt %d): sequence %d after %d", i, pkt.PayloadType, pkt.SequenceNumber, pkts[i-1].SequenceNumber)
		}
		switch pkt.PayloadType {
		case 0:
			if audioSeen && pkt.Timestamp-lastAudioTS != 160 {
				t.Errorf("packet %d: audio timestamp +%d", i, pkt.Timestamp-lastAudioTS)
			}
			lastAudioTS, audioSeen = pkt.Timestamp, true
		case 101:
			ts := pkt.Timestamp
			if !firstOfEvent[ts] {
				firstOfEvent[ts] = true
				events = append(events, ts)
				if pkt.Marker != true {
					t.Errorf("event %d: its first packet has no marker bit", len(events))
				}
				// On the audio clock: the event began one update
				// (50 ms, 400 ticks) before its first packet, so within
				// a frame of that before the audio packet sent just
				// before it.
				if d := int32(ts - lastAudioTS); !audioSeen || d < -400-160 || d > 160 {
					t.Errorf("event %d at RTP time %d, the audio packet before it at %d", len(events), ts, lastAudioTS)
				}
			}
			if pkt.Marker {
				markers[ts]++
			}
			if pkt.Payload[1]&0x80 != 0 {
				ends[ts]++
			}
			if pkt.Payload[1]&0x3f != digitVolume {
				t.Errorf("volume %d", pkt.Payload[1]&0x3f)
			}
			if err := rx.packet(ts, pkt.Payload, 8000, func(d Digit) { digits = append(digits, d) }); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("packet %d: payload type %d", i, pkt.PayloadType)
		}
	}
	var got string
	for _, d := range digits {
		got += string(d.Key)
		if d.Duration != digitTone {
			t.Errorf("key %c held %v, want %v", d.Key, d.Duration, digitTone)
		}
	}
	if got != "19*#A" {
		t.Fatalf("the phone decoded %q, want %q (%d packets)", got, "19*#A", len(pkts))
	}
	for i, ts := range events {
		if ends[ts] != digitEnds || markers[ts] != 1 {
			t.Errorf("event %d: %d end packets, %d with the marker (want %d, 1)", i, ends[ts], markers[ts], digitEnds)
		}
		if i > 0 {
			if gap := ts - events[i-1]; gap < uint32((digitTone+digitGap)*8000/time.Second) {
				t.Errorf("event %d starts %d ticks after the one before", i, gap)
			}
		}
	}
	if st := s.Stats(); st.PacketsOut != uint64(len(pkts)) {
		t.Errorf("stats count %d packets out, the phone got %d", st.PacketsOut, len(pkts))
	}
}

// Digits to a party that did not offer telephone-event, keys that are
// not keys, and a context that ends midway are refused; with no audio
// flowing, two events still get distinct timestamps.
func TestSendDigitsErrors(t *testing.T) {
	e := testEngine(t, Config{})
	plain := newPhone(t).dial(e, SessionOptions{}, "0")
	if err := plain.SendDigits(context.Background(), "1"); !errors.Is(err, ErrNoTelephoneEvent) {
		t.Errorf("no telephone-event: %v", err)
	}
	p := newPhone(t)
	s := p.dial(e, SessionOptions{}, "0 101", "a=rtpmap:101 telephone-event/8000")
	for _, keys := range []string{"", "12E", "1 2", "+", string(make([]byte, MaxDigits+1))} {
		if err := s.SendDigits(context.Background(), keys); !errors.Is(err, ErrInvalidDigits) {
			t.Errorf("%q: %v", keys, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	if err := s.SendDigits(ctx, "123"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cut short: %v", err)
	}
	// The first key complete, the second cut short but ended.
	var rx dtmfState
	var got []Digit
	stamps := map[uint32]bool{}
	for {
		pkt, ok := read(t, p.rtp, 200*time.Millisecond)
		if !ok {
			break
		}
		stamps[pkt.Timestamp] = true
		if err := rx.packet(pkt.Timestamp, pkt.Payload, 8000, func(d Digit) { got = append(got, d) }); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 || got[0].Key != '1' || got[1].Key != '2' || len(stamps) != 2 {
		t.Errorf("decoded %+v from events at %d timestamps, want 1 and a cut 2 at two", got, len(stamps))
	}
	s.Close()
	if err := s.SendDigits(context.Background(), "1"); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}
