package plainrtp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// FuzzRTP feeds arbitrary datagrams to a session's receive path (RTP,
// telephone-events, RTCP multiplexed on the RTP port). Nothing may
// panic; every datagram is counted once (taken, dropped or bad, or as
// RTCP); the room gets only packets of the negotiated codec with a
// payload; and the session still sends the mix afterwards.
func FuzzRTP(f *testing.F) {
	f.Add([]byte("\x80\x00\x00\x01\x00\x00\x00\xa0\x00\x00\xfe\xed" + string(make([]byte, 160)))) // PCMU
	f.Add([]byte("\x80\xe5\x00\x02\x00\x00\x01\x40\x00\x00\xfe\xed\x01\x8a\x03\x20"))             // telephone-event '1', end
	f.Add([]byte("\x80\x0d\x00\x03\x00\x00\x01\xe0\x00\x00\xfe\xed\x28"))                         // CN
	f.Add([]byte("\x81\xc9\x00\x07\x00\x00\xfe\xed\x00\x00\x00\x01\x00\x00\x00\x07" + string(make([]byte, 16))))
	f.Add([]byte("\xb0\x00\x00\x04\x00\x00\x02\x80\x00\x00\xfe\xed\xbe\xde\x00\x01\x10\xff\x00\x00\x01\x02"))
	f.Add([]byte("not RTP"))
	e := testEngine(f, Config{})
	s, err := e.Offer(sdpOffer(5004, "0 101", "a=rtpmap:101 telephone-event/8000"), SessionOptions{OnDigit: func(Digit) {}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	from := netip.MustParseAddrPort("127.0.0.1:5004")
	f.Fuzz(func(t *testing.T, data []byte) {
		before := s.Stats()
		s.receive(data, from, time.Now())
		after := s.Stats()
		counted := (after.PacketsIn - before.PacketsIn) + (after.Dropped - before.Dropped) +
			(after.Bad - before.Bad) + (after.RTCPIn - before.RTCPIn)
		if counted != 1 {
			t.Fatalf("a datagram counted %d times: %+v then %+v", counted, before, after)
		}
		for drained := false; !drained; {
			select {
			case p := <-s.mic.queue:
				if p.PayloadType != 0 || len(p.Payload) == 0 || p.Padding {
					t.Fatalf("the room got pt %d, %d bytes, padding %v", p.PayloadType, len(p.Payload), p.Padding)
				}
			default:
				drained = true
			}
		}
		if err := s.WriteFrame(endpoint.Frame{Data: make([]byte, 160), Duration: 20 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	})
}
