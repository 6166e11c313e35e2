package plainrtp

import (
	"slices"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/g711"
	"github.com/tessera-mcu/tessera/codec/g722"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// g722Frames encodes n 20 ms frames of a tone of freq in G.722.
func g722Frames(t *testing.T, freq float64, n int) [][]byte {
	t.Helper()
	enc, err := g722.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var frames [][]byte
	pos := 0
	pcm := make([]int16, g722.FrameSamples)
	for range n {
		pos = codectest.Tone(pcm, 1, g722.SampleRate, freq, 0.25, pos)
		b := make([]byte, g722.FrameBytes)
		if _, err := enc.Encode(pcm, b); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, b)
	}
	return frames
}

// A session in PCMU takes a re-offer of G.722 alone (ptime 40): its
// answer is G.722 on 9, the room is told to send the mix in G.722 and
// reads the microphone from a new track in G.722 (the old reader ends,
// the session does not), the phone's G.722 packets reach it and PCMU
// ones no longer do; frames still in PCMU are not sent, G.722 ones go
// out two to a packet, 320 clock ticks apart, and decode to the 6 kHz
// tone they carry.
func TestReofferChangesCodecSession(t *testing.T) {
	e := testEngine(t, Config{})
	p := newPhone(t)
	s := p.dial(e, SessionOptions{}, "0 101", "a=rtpmap:101 telephone-event/8000")
	l := newFakeLink()
	m := &fakeMember{link: l}
	if err := s.Attach(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	p.send(nil, 0, 160, true, toneFrames(t, g711.ULaw, 1000, 1)[0])
	if !eventually(2*time.Second, func() bool { _, _, pkts := l.snapshot(); return len(pkts) == 1 }) {
		t.Fatal("the PCMU packet never reached the room")
	}

	ans, err := s.Update(p.offer("9 101", "a=rtpmap:101 telephone-event/8000", "a=ptime:40"))
	if err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, s, Codec{endpoint.CodecG722, 9, 8000}, "101 telephone-event/8000", 40*time.Millisecond, SendRecv, nil)
	if s.Answer() != ans {
		t.Error("Answer() is not the latest answer")
	}
	l.mu.Lock()
	mixCodecs := slices.Clone(l.mixCodecs)
	l.mu.Unlock()
	if !slices.Equal(mixCodecs, []string{endpoint.CodecG722}) {
		t.Errorf("the room was asked for mixes in %v, want [g722]", mixCodecs)
	}
	if !eventually(2*time.Second, func() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.codec == endpoint.CodecG722 }) {
		t.Fatal("the room does not read the microphone in G.722")
	}
	select {
	case <-l.ended:
		t.Fatalf("the change of codec ended the microphone: %v", l.err)
	default:
	}

	frames := g722Frames(t, 6000, 8)
	p.send(nil, 0, 320, false, toneFrames(t, g711.ULaw, 1000, 1)[0]) // the old codec: dropped
	p.send(nil, 9, 480, false, frames[0])
	if !eventually(2*time.Second, func() bool { _, _, pkts := l.snapshot(); return len(pkts) == 2 }) {
		t.Fatal("the G.722 packet never reached the room")
	}
	time.Sleep(50 * time.Millisecond)
	if _, _, pkts := l.snapshot(); len(pkts) != 2 || pkts[1].PayloadType != 9 {
		t.Fatalf("the room got %d packets, the last in %d; want the PCMU one and then the G.722 one", len(pkts), pkts[len(pkts)-1].PayloadType)
	}

	held := s.Stats().Held
	if err := s.WriteFrame(endpoint.Frame{Data: toneFrames(t, g711.ULaw, 1000, 1)[0], Duration: 20 * time.Millisecond, Codec: endpoint.CodecPCMU}); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Held; got != held+1 {
		t.Errorf("a PCMU frame after the change: held %d, want %d", got, held+1)
	}
	for _, f := range frames {
		if err := s.WriteFrame(endpoint.Frame{Data: f, Duration: 20 * time.Millisecond, Codec: endpoint.CodecG722}); err != nil {
			t.Fatal(err)
		}
	}
	dec, err := g722.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var pcm []int16
	var stamps []uint32
	for i := range 4 {
		pkt, ok := read(t, p.rtp, 2*time.Second)
		if !ok {
			t.Fatalf("packet %d never reached the phone", i)
		}
		if pkt.PayloadType != 9 || len(pkt.Payload) != 2*g722.FrameBytes {
			t.Fatalf("packet %d: payload type %d, %d bytes; want 9, 320", i, pkt.PayloadType, len(pkt.Payload))
		}
		stamps = append(stamps, pkt.Timestamp)
		buf := make([]int16, 2*g722.FrameSamples)
		n, err := dec.Decode(pkt.Payload, buf)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, buf[:n]...)
	}
	for i := 1; i < len(stamps); i++ {
		if d := stamps[i] - stamps[i-1]; d != 320 {
			t.Errorf("timestamps %v: steps of %d, want 320", stamps, d)
		}
	}
	pcm = pcm[960:] // the decoder settles
	on, off := codectest.Goertzel(pcm, g722.SampleRate, 6000), codectest.Goertzel(pcm, g722.SampleRate, 2000)
	t.Logf("the phone hears 6 kHz at %.3f, 2 kHz at %.4f", on, off)
	if on < 0.15 || off > on/30 {
		t.Errorf("the phone hears the 6 kHz tone at %.3f (2 kHz at %.4f)", on, off)
	}
}
