package plainrtp

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/g711"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// Tessera's offer: one RTP/AVP audio line on the session's port at the
// SDP address, PCMU, PCMA and telephone-event/8000 0-15, ptime 20,
// sendrecv; the session's ports are held until Close.
func TestNewOffer(t *testing.T) {
	e := testEngine(t, Config{SDPIP: "127.0.0.2"})
	s, offer, err := e.NewOffer(SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		t.Fatalf("offer does not parse: %v\n%s", err, offer)
	}
	if sd.ConnectionInformation == nil || sd.ConnectionInformation.Address.Address != "127.0.0.2" {
		t.Errorf("c= %+v, want 127.0.0.2", sd.ConnectionInformation)
	}
	if len(sd.MediaDescriptions) != 1 {
		t.Fatalf("%d m-lines, want 1:\n%s", len(sd.MediaDescriptions), offer)
	}
	md := sd.MediaDescriptions[0]
	if md.MediaName.Media != "audio" || md.MediaName.Port.Value != s.Port() ||
		strings.Join(md.MediaName.Protos, "/") != "RTP/AVP" || strings.Join(md.MediaName.Formats, " ") != "9 0 8 101" {
		t.Errorf("m= %+v, want audio %d RTP/AVP 9 0 8 101", md.MediaName, s.Port())
	}
	for _, want := range []string{"a=rtpmap:9 G722/8000", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-15", "a=ptime:20", "a=sendrecv"} {
		if !strings.Contains(offer, want+"\r\n") {
			t.Errorf("offer lacks %q:\n%s", want, offer)
		}
	}
	if _, used := e.Ports(); used != 1 {
		t.Errorf("%d port pairs in use, want 1", used)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, used := e.Ports(); used != 0 {
		t.Errorf("%d port pairs in use after Close, want 0", used)
	}
}

// The callee's answer starts the media: the codec it picked (PCMA,
// second of the offer), its address, its telephone-event payload type.
// The callee hears the room's tone in that codec and its own packets and
// digits reach the room; a second answer is refused.
func TestAnswered(t *testing.T) {
	e := testEngine(t, Config{})
	p := newPhone(t)
	var digits []Digit
	got := make(chan Digit, 4)
	s, _, err := e.NewOffer(SessionOptions{OnDigit: func(d Digit) { got <- d }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	p.to = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(s.Port()))
	if err := s.Answered(p.offer("8 96", "a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-15")); err != nil {
		t.Fatal(err)
	}
	if c := s.Codec(); c.Name != endpoint.CodecPCMA || c.PT != 8 {
		t.Errorf("codec %+v, want PCMA on 8", c)
	}
	l := newFakeLink()
	if err := s.Attach(t.Context(), &fakeMember{link: l}); err != nil {
		t.Fatal(err)
	}

	for _, f := range toneFrames(t, g711.ALaw, 1000, 10) {
		if err := s.WriteFrame(endpoint.Frame{Data: f, Duration: 20 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	dec, err := g711.NewDecoder(g711.ALaw)
	if err != nil {
		t.Fatal(err)
	}
	var pcm []int16
	for i := range 10 {
		pkt, ok := read(t, p.rtp, 2*time.Second)
		if !ok {
			t.Fatalf("packet %d never reached the callee", i)
		}
		if pkt.PayloadType != 8 {
			t.Fatalf("packet %d in payload type %d, want 8", i, pkt.PayloadType)
		}
		buf := make([]int16, g711.MaxFrameSamples)
		n, err := dec.Decode(pkt.Payload, buf)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, buf[:n]...)
	}
	if on, off := codectest.Goertzel(pcm, g711.SampleRate, 1000), codectest.Goertzel(pcm, g711.SampleRate, 1500); on < 0.1 || off > on/100 {
		t.Errorf("the callee hears the tone at %.3f and elsewhere %.4f", on, off)
	}

	p.send(nil, 8, 1000, true, make([]byte, 160))
	p.send(nil, 0, 1160, false, make([]byte, 160)) // PCMU: not the codec picked
	for _, dur := range []uint16{160, 320} {
		p.send(nil, 96, 2000, dur == 160, []byte{7, 10, byte(dur >> 8), byte(dur)})
	}
	p.send(nil, 96, 2000, false, []byte{7, 0x80 | 10, 0, 240})
	select {
	case d := <-got:
		digits = append(digits, d)
	case <-time.After(2 * time.Second):
		t.Fatal("the callee's digit never arrived")
	}
	if len(digits) != 1 || digits[0].Key != '7' {
		t.Errorf("digits %v, want 7", digits)
	}
	if !eventually(2*time.Second, func() bool { _, _, pkts := l.snapshot(); return len(pkts) >= 1 }) {
		t.Fatal("the callee's audio never reached the room")
	}
	time.Sleep(50 * time.Millisecond)
	if _, _, pkts := l.snapshot(); len(pkts) != 1 || pkts[0].PayloadType != 8 {
		t.Errorf("the room got %d packets, want the one PCMA packet", len(pkts))
	}
	if err := s.Answered(p.offer("0")); !errors.Is(err, ErrAnswered) {
		t.Errorf("a second answer: %v, want ErrAnswered", err)
	}
}

// An answer without a codec Tessera offered (Opus, G.729, SRTP) is an
// error wrapping ErrNoMedia, one that does not parse ErrInvalidSDP; the
// session stays unanswered and can take a usable answer after.
func TestAnsweredRefused(t *testing.T) {
	e := testEngine(t, Config{})
	s, _, err := e.NewOffer(SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	for _, c := range []struct {
		answer string
		want   error
	}{
		{sdpOffer(40000, "18", "a=rtpmap:18 G729/8000"), ErrNoMedia},
		{sdpOffer(40000, "111", "a=rtpmap:111 opus/48000/2"), ErrNoMedia},
		{strings.Replace(sdpOffer(40000, "0"), "RTP/AVP", "RTP/SAVP", 1) +
			"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n", ErrNoMedia},
		{sdpOffer(0, "0"), ErrNoMedia},
		{"v=0\r\nnonsense", ErrInvalidSDP},
	} {
		if err := s.Answered(c.answer); !errors.Is(err, c.want) {
			t.Errorf("answer %q: %v, want %v", c.answer, err, c.want)
		}
	}
	if err := s.Answered(sdpOffer(40000, "0")); err != nil {
		t.Errorf("a usable answer after the refused ones: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, _, err := e.NewOffer(SessionOptions{})
	if err != nil {
		t.Fatal(fmt.Errorf("a new offer after Close: %w", err))
	}
	_ = s2.Close()
}
