package plainrtp

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// The composite goes out as VP8 RTP: packets within the MTU, one
// timestamp per picture at 90 kHz, the marker on its last packet, a
// sequence gap and a time jump for skipped pictures, nothing on hold; the
// camera's packets of the negotiated payload type reach the room.
func TestVideoPacketization(t *testing.T) {
	e := testEngine(t, Config{})
	p := newPhone(t)
	vid, vrtcp := listen(t), listen(t)
	videoLines := func(dir string) string {
		return videoLine("RTP/AVP", "100", "a=rtpmap:100 VP8/90000", "a=rtcp:"+itoa(port(vrtcp)), dir)
	}
	offer := func(dir string) string {
		return sdpOffer(port(p.rtp), "0", "a=rtcp:"+itoa(port(p.rtcp))) +
			strings.Replace(videoLines(dir), "m=video 5006", "m=video "+itoa(port(vid)), 1)
	}
	s, err := e.Offer(offer("a=sendrecv"), SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	m := &fakeMember{link: newFakeLink()}
	if err := s.Attach(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if m.media.Video == nil || m.media.VideoCodec != endpoint.CodecVP8 || m.media.MaxPictureSize != 0 {
		t.Fatalf("media %+v", m.media)
	}
	picture := bytes.Repeat([]byte{0x10, 0x02, 0x9d, 0x01, 0x2a}, 700) // 3500 bytes
	picture[0] = 0x10                                                  // a VP8 keyframe's first byte
	readPicture := func() (pkts int, ts uint32, first, last uint16, payload []byte) {
		t.Helper()
		var dep codecs.VP8Packet
		for {
			pkt, ok := read(t, vid, 2*time.Second)
			if !ok {
				t.Fatal("no video packet")
			}
			if pkt.PayloadType != 100 || pkt.MarshalSize() > videoMTU {
				t.Fatalf("packet of payload type %d, %d bytes", pkt.PayloadType, pkt.MarshalSize())
			}
			if pkts == 0 {
				ts, first = pkt.Timestamp, pkt.SequenceNumber
			} else if pkt.Timestamp != ts || pkt.SequenceNumber != last+1 {
				t.Fatalf("packet %d of a picture: ts %d seq %d, want %d and %d", pkts, pkt.Timestamp, pkt.SequenceNumber, ts, last+1)
			}
			b, err := dep.Unmarshal(pkt.Payload)
			if err != nil {
				t.Fatal(err)
			}
			payload = append(payload, b...)
			pkts++
			last = pkt.SequenceNumber
			if pkt.Marker {
				return
			}
		}
	}
	write := func(f endpoint.Frame) {
		t.Helper()
		if err := m.media.Video.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	write(endpoint.Frame{Data: picture, Duration: time.Second / 30})
	n, ts1, _, last1, got := readPicture()
	if n < 3 || !bytes.Equal(got, picture) {
		t.Fatalf("%d packets carrying %d bytes, want >= 3 carrying the %d-byte picture", n, len(got), len(picture))
	}
	write(endpoint.Frame{Data: picture[:100], Duration: time.Second / 15})
	n, ts2, first2, last2, _ := readPicture()
	if n != 1 || !near(ts2-ts1, 3000) || first2 != last1+1 {
		t.Errorf("second picture: %d packets, ts +%d, seq %d after %d; want 1, +3000 (1/30 s), the next", n, ts2-ts1, first2, last1)
	}
	write(endpoint.Frame{Data: picture[:100], Duration: time.Second / 15, Skipped: 2})
	_, ts3, first3, _, _ := readPicture()
	if !near(ts3-ts2, 3*6000) || first3 != last2+3 {
		t.Errorf("after 2 skipped: ts +%d, seq +%d; want +18000 and +3", ts3-ts2, first3-last2)
	}

	// The camera: only payload type 100 reaches the room's reader.
	vs := m.media.Video.(*videoStream)
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(s.VideoPort()))
	for _, pt := range []uint8{100, 101, 100} {
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SSRC: 7}, Payload: []byte{0x10, 1, 2}}).Marshal()
		if _, err := vid.WriteToUDPAddrPort(b, to); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		done := make(chan struct{})
		go func() {
			defer close(done)
			if pkt, err := vs.ReadRTP(); err != nil || pkt.PayloadType != 100 {
				t.Errorf("camera packet %v, %v", pkt, err)
			}
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("no camera packet")
		}
	}
	if st := s.Stats().Video; st.PacketsIn != 2 || st.Dropped != 1 || st.Pictures != 3 {
		t.Errorf("video stats %+v", st)
	}

	// On hold (the party sends only), nothing is sent; the time runs on.
	if _, err := s.Update(offer("a=sendonly")); err != nil {
		t.Fatal(err)
	}
	write(endpoint.Frame{Data: picture[:100], Duration: time.Second / 15})
	if pkt, ok := read(t, vid, 300*time.Millisecond); ok {
		t.Fatalf("sent %+v on hold", pkt.Header)
	}
	if _, err := s.Update(offer("a=sendrecv")); err != nil {
		t.Fatal(err)
	}
	write(endpoint.Frame{Data: picture[:100], Duration: time.Second / 15})
	_, ts4, _, _, _ := readPicture()
	if !near(ts4-ts3, 2*6000) {
		t.Errorf("after hold: ts +%d, want +12000", ts4-ts3)
	}
	if st := s.Stats().Video; st.Held != 1 {
		t.Errorf("held %d pictures, want 1", st.Held)
	}
}

// near tells whether an RTP time step is want, give or take the tick a
// duration of whole nanoseconds rounds away.
func near(got, want uint32) bool { return got+1 >= want && got <= want+1 }
