package rtc

import (
	"testing"

	"github.com/pion/rtcp"
)

// A generic NACK's pair asks for its packet and one more per bit set
// (RFC 4585 section 6.2.1); other RTCP asks for none.
func TestNacked(t *testing.T) {
	pkts := []rtcp.Packet{
		&rtcp.PictureLossIndication{MediaSSRC: 1},
		&rtcp.TransportLayerNack{MediaSSRC: 1, Nacks: []rtcp.NackPair{
			{PacketID: 10}, // 10
			{PacketID: 30, LostPackets: 0b1000_0000_0000_0101}, // 30, 31, 33, 46
		}},
		&rtcp.ReceiverReport{},
	}
	if n := nacked(pkts); n != 5 {
		t.Errorf("nacked %d packets, want 5", n)
	}
	if n := nacked(nil); n != 0 {
		t.Errorf("nacked %d of nothing", n)
	}
}
