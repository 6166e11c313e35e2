package frames

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// stream packetizes frames with VP8's payload descriptor: frame f is
// packets of bytes {f, part}.
type stream struct {
	seq  uint16
	pkts []*rtp.Packet
}

func (s *stream) frame(f, parts int) {
	for i := range parts {
		desc := byte(0x00)
		if i == 0 {
			desc = 0x10 // S bit: start of partition
		}
		s.pkts = append(s.pkts, &rtp.Packet{
			Header:  rtp.Header{SequenceNumber: s.seq, Timestamp: uint32(3000 * f), Marker: i == parts-1},
			Payload: []byte{desc, byte(f), byte(i)},
		})
		s.seq++
	}
}

func vp8() Depacketizer { return &codecs.VP8Packet{} }

func frameOf(f, parts int) []byte {
	var b []byte
	for i := range parts {
		b = append(b, byte(f), byte(i))
	}
	return b
}

type popped struct {
	data []byte
	lost bool
}

func feed(a *Assembler, pkts []*rtp.Packet, now time.Time) []popped {
	var out []popped
	for _, p := range pkts {
		a.Push(p, now)
		for {
			f, lost, ok := a.Pop(now)
			if !ok {
				break
			}
			out = append(out, popped{f, lost})
		}
	}
	return out
}

func TestReleasesOnMarkerWithoutWaitingForNextFrame(t *testing.T) {
	s := &stream{seq: 65530} // wraps
	s.frame(1, 3)
	s.frame(2, 4)
	a := New(vp8, 100*time.Millisecond)
	now := time.Now()
	for i, p := range s.pkts {
		a.Push(p, now)
		f, lost, ok := a.Pop(now)
		switch i {
		case 2:
			if !ok || lost || !bytes.Equal(f, frameOf(1, 3)) {
				t.Fatalf("frame 1 not released on its marker: %v %v %x", ok, lost, f)
			}
		case 6:
			if !ok || !bytes.Equal(f, frameOf(2, 4)) {
				t.Fatalf("frame 2: %v %x", ok, f)
			}
		default:
			if ok {
				t.Fatalf("frame released early at packet %d", i)
			}
		}
	}
}

func TestReordersAndDropsDuplicatesAndLate(t *testing.T) {
	s := &stream{seq: 10}
	s.frame(1, 3)
	s.frame(2, 2)
	p := s.pkts
	order := []*rtp.Packet{p[1], p[0], p[0], p[2], p[4], p[3], p[1]}
	a := New(vp8, 100*time.Millisecond)
	out := feed(a, order, time.Now())
	if len(out) != 2 || !bytes.Equal(out[0].data, frameOf(1, 3)) || !bytes.Equal(out[1].data, frameOf(2, 2)) || out[0].lost || out[1].lost {
		t.Fatalf("got %+v", out)
	}
	if a.Duplicates != 1 || a.Late != 1 {
		t.Fatalf("duplicates %d late %d", a.Duplicates, a.Late)
	}
}

func TestGivesUpOnMissingPacketAfterWait(t *testing.T) {
	s := &stream{seq: 100}
	s.frame(1, 3)
	s.frame(2, 2)
	s.frame(3, 2)
	p := s.pkts
	a := New(vp8, 50*time.Millisecond)
	t0 := time.Now()
	// Frame 1 loses its middle packet.
	out := feed(a, []*rtp.Packet{p[0], p[2], p[3], p[4]}, t0)
	if len(out) != 0 {
		t.Fatalf("released %+v before the wait", out)
	}
	// A retransmission within the wait completes it.
	b := New(vp8, 50*time.Millisecond)
	out = feed(b, []*rtp.Packet{p[0], p[2], p[3], p[4], p[1]}, t0)
	if len(out) != 2 || out[0].lost {
		t.Fatalf("with retransmission: %+v", out)
	}
	// Without it, frame 1 is dropped when the wait is over, and frame 2
	// reports the loss.
	out = feed(a, []*rtp.Packet{p[5], p[6]}, t0.Add(60*time.Millisecond))
	if len(out) != 2 || !out[0].lost || !bytes.Equal(out[0].data, frameOf(2, 2)) || out[1].lost {
		t.Fatalf("after the wait: %+v", out)
	}
}

func TestWholeFrameLostKeepsTheNextOne(t *testing.T) {
	s := &stream{seq: 1}
	s.frame(1, 2)
	s.frame(2, 3) // lost entirely
	s.frame(3, 2)
	p := s.pkts
	a := New(vp8, 20*time.Millisecond)
	now := time.Now()
	out := feed(a, []*rtp.Packet{p[0], p[1], p[5], p[6]}, now)
	out = append(out, feed(a, nil, now)...)
	for len(out) < 2 {
		f, lost, ok := a.Pop(now.Add(30 * time.Millisecond))
		if !ok {
			break
		}
		out = append(out, popped{f, lost})
	}
	if len(out) != 2 || !bytes.Equal(out[1].data, frameOf(3, 2)) || !out[1].lost {
		t.Fatalf("got %+v", out)
	}
}

func TestLostFirstPacketDropsFrame(t *testing.T) {
	s := &stream{seq: 1}
	s.frame(1, 2)
	s.frame(2, 2)
	p := s.pkts
	a := New(vp8, 10*time.Millisecond)
	now := time.Now()
	if out := feed(a, []*rtp.Packet{p[1], p[2], p[3]}, now); len(out) != 0 {
		t.Fatalf("released %+v while the first packet may still come", out)
	}
	f, lost, ok := a.Pop(now.Add(20 * time.Millisecond))
	if !ok || !lost || !bytes.Equal(f, frameOf(2, 2)) {
		t.Fatalf("got %x %v %v", f, lost, ok)
	}
}

func FuzzAssembler(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5}, uint16(65534))
	f.Add([]byte{5, 3, 1, 0, 2, 2, 9}, uint16(7))
	f.Fuzz(func(t *testing.T, order []byte, base uint16) {
		s := &stream{seq: base}
		for i := range 8 {
			s.frame(i+1, 1+i%3)
		}
		a := New(vp8, 10*time.Millisecond)
		now := time.Now()
		for i, o := range order {
			p := s.pkts[int(o)%len(s.pkts)]
			cp := *p
			a.Push(&cp, now.Add(time.Duration(i)*5*time.Millisecond))
			for {
				fr, _, ok := a.Pop(now.Add(time.Duration(i) * 5 * time.Millisecond))
				if !ok {
					break
				}
				if len(fr) == 0 || len(fr)%2 != 0 {
					t.Fatalf("malformed frame %x", fr)
				}
			}
		}
	})
}

// A sender whose sequence numbers start again further back than any
// retransmission could come from (a restart), or that changes its SSRC,
// is followed at once: its frames are not taken for late packets until
// the sequence catches up.
func TestRestartedSequenceIsFollowed(t *testing.T) {
	for _, tc := range []struct {
		name string
		back uint16
		ssrc uint32
	}{{"sequence back 5000", 5000, 0}, {"sequence back 40000", 40000, 0}, {"new SSRC, sequence back 3", 3, 9},
		{"sequence back 600", 600, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			s := &stream{seq: 30000}
			s.frame(1, 2)
			a := New(vp8, 100*time.Millisecond)
			now := time.Now()
			if out := feed(a, s.pkts, now); len(out) != 1 {
				t.Fatalf("first frame: %+v", out)
			}
			s.pkts = nil
			s.seq -= tc.back
			s.frame(2, 2)
			s.frame(3, 2)
			s.frame(4, 2)
			s.frame(5, 2)
			for _, p := range s.pkts {
				p.SSRC = tc.ssrc
			}
			out := feed(a, s.pkts, now)
			// Within a few packets the restart is recognised, and every
			// frame from then on is released.
			if len(out) < 2 || !bytes.Equal(out[len(out)-1].data, frameOf(5, 2)) || !out[0].lost || out[len(out)-1].lost {
				t.Fatalf("after the restart: %+v (late %d)", out, a.Late)
			}
			if a.Restarts != 1 {
				t.Fatalf("restarts %d", a.Restarts)
			}
		})
	}
}

// Retransmissions of a lost burst that arrive after their frame was given
// up are late, follow each other and carry the old frame's timestamp: they
// are not taken for a restart, and the frame after them still comes out.
func TestLateRetransmissionsAreNoRestart(t *testing.T) {
	s := &stream{seq: 100}
	s.frame(1, 8)
	s.frame(2, 2)
	p := s.pkts
	a := New(vp8, 100*time.Millisecond)
	now := time.Now()
	// Frame 1 loses packets 2..6; frame 2 waits behind the hole until
	// frame 1 is given up, then comes out.
	feed(a, append(append([]*rtp.Packet{}, p[:2]...), p[7:]...), now)
	var released [][]byte
	for {
		f, _, ok := a.Pop(now.Add(200 * time.Millisecond))
		if !ok {
			break
		}
		released = append(released, f)
	}
	if len(released) != 1 || !bytes.Equal(released[0], frameOf(2, 2)) {
		t.Fatalf("after giving frame 1 up: %q", released)
	}
	// The five retransmissions arrive late, in order.
	feed(a, p[2:7], now.Add(250*time.Millisecond))
	if a.Restarts != 0 {
		t.Fatalf("retransmissions taken for a restart (%d)", a.Restarts)
	}
	s.pkts = nil
	s.frame(3, 2)
	if out := feed(a, s.pkts, now.Add(300*time.Millisecond)); len(out) != 1 || !bytes.Equal(out[0].data, frameOf(3, 2)) {
		t.Fatalf("the next frame after late retransmissions: %+v", out)
	}
}
