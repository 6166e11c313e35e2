package plainrtp

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/g711"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// toneFrames encodes n 20 ms frames of a tone at freq in law.
func toneFrames(t *testing.T, law g711.Law, freq float64, n int) [][]byte {
	t.Helper()
	enc, err := g711.NewEncoder(law)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	pos := 0
	pcm := make([]int16, g711.FrameSamples)
	for range n {
		pos = codectest.Tone(pcm, 1, g711.SampleRate, freq, 0.25, pos)
		b := make([]byte, g711.FrameBytes)
		if _, err := enc.Encode(pcm, b); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, b)
	}
	return frames
}

// The mix goes out as RTP of the negotiated codec: its own SSRC, one
// 160-byte payload per 20 ms, timestamps 160 apart, skipped frames
// advancing the time, and the phone decodes the tone it carried.
func TestPacketization(t *testing.T) {
	e := testEngine(t, Config{})
	p := newPhone(t)
	s := p.dial(e, SessionOptions{}, "8 0")
	frames := toneFrames(t, g711.ALaw, 1000, 20)
	for i, f := range frames {
		var skipped uint16
		if i == 10 {
			skipped = 3
		}
		if err := s.WriteFrame(endpoint.Frame{Data: f, Duration: 20 * time.Millisecond, Skipped: skipped}); err != nil {
			t.Fatal(err)
		}
	}
	dec, err := g711.NewDecoder(g711.ALaw)
	if err != nil {
		t.Fatal(err)
	}
	var pcm []int16
	var prevTS uint32
	var prevSeq uint16
	for i := range frames {
		pkt, ok := read(t, p.rtp, 2*time.Second)
		if !ok {
			t.Fatalf("packet %d never arrived", i)
		}
		if pkt.PayloadType != 8 || len(pkt.Payload) != 160 || pkt.SSRC != s.ssrc {
			t.Fatalf("packet %d: pt %d, %d bytes, ssrc %x (want 8, 160, %x)", i, pkt.PayloadType, len(pkt.Payload), pkt.SSRC, s.ssrc)
		}
		if i > 0 {
			want := uint32(160)
			if i == 10 {
				want = 4 * 160 // three frames skipped
			}
			if pkt.Timestamp-prevTS != want || pkt.SequenceNumber != prevSeq+1 {
				t.Errorf("packet %d: timestamp +%d, sequence +%d (want +%d, +1)", i, pkt.Timestamp-prevTS, pkt.SequenceNumber-prevSeq, want)
			}
		}
		prevTS, prevSeq = pkt.Timestamp, pkt.SequenceNumber
		buf := make([]int16, g711.MaxFrameSamples)
		n, err := dec.Decode(pkt.Payload, buf)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, buf[:n]...)
	}
	if on, off := codectest.Goertzel(pcm, g711.SampleRate, 1000), codectest.Goertzel(pcm, g711.SampleRate, 1500); on < 0.1 || off > on/100 {
		t.Errorf("the phone hears the tone at %.3f and elsewhere %.4f", on, off)
	}
	if st := s.Stats(); st.PacketsOut != 20 || st.BytesOut != 20*160 {
		t.Errorf("stats %+v, want 20 packets, 3200 bytes out", st)
	}
}

// With a=ptime:40 two frames go in each packet.
func TestPacketizationPtime(t *testing.T) {
	e := testEngine(t, Config{})
	p := newPhone(t)
	s := p.dial(e, SessionOptions{}, "0", "a=ptime:40")
	for _, f := range toneFrames(t, g711.ULaw, 800, 6) {
		if err := s.WriteFrame(endpoint.Frame{Data: f, Duration: 20 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	var ts []uint32
	for i := range 3 {
		pkt, ok := read(t, p.rtp, 2*time.Second)
		if !ok {
			t.Fatalf("packet %d never arrived", i)
		}
		if pkt.PayloadType != 0 || len(pkt.Payload) != 320 {
			t.Fatalf("packet %d: pt %d, %d bytes (want 0, 320)", i, pkt.PayloadType, len(pkt.Payload))
		}
		ts = append(ts, pkt.Timestamp)
	}
	if ts[1]-ts[0] != 320 || ts[2]-ts[1] != 320 {
		t.Errorf("timestamps %v, want 320 apart", ts)
	}
	if _, ok := read(t, p.rtp, 100*time.Millisecond); ok {
		t.Error("more than three packets for six frames")
	}
}

// The session sends to the SDP address until RTP comes from elsewhere,
// then to that source.
func TestLatching(t *testing.T) {
	e := testEngine(t, Config{})
	p := newPhone(t)
	s := p.dial(e, SessionOptions{}, "0")
	frame := toneFrames(t, g711.ULaw, 1000, 1)[0]
	write := func() {
		t.Helper()
		if err := s.WriteFrame(endpoint.Frame{Data: frame, Duration: 20 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	write()
	if _, ok := read(t, p.rtp, 2*time.Second); !ok {
		t.Fatal("nothing reached the SDP address")
	}
	nat := listen(t) // the phone's public side: another port
	p.send(nat, 0, 160, false, frame)
	if !eventually(2*time.Second, func() bool { return s.Stats().PacketsIn == 1 }) {
		t.Fatal("the packet from the new source was not taken")
	}
	write()
	if _, ok := read(t, nat, 2*time.Second); !ok {
		t.Fatal("the session did not latch to the source of the RTP")
	}
	if _, ok := read(t, p.rtp, 100*time.Millisecond); ok {
		t.Error("the session still sends to the SDP address")
	}
	// Garbage from a third address does not move it.
	stranger := listen(t)
	p.raw(stranger, []byte("\x80\x60garbage"))
	p.send(stranger, 99, 320, false, frame) // not a negotiated payload type
	write()
	if _, ok := read(t, nat, 2*time.Second); !ok {
		t.Fatal("garbage from a stranger moved the session")
	}
}

// A re-INVITE holds the call (nothing sent while the phone is sendonly
// or inactive), unholds it and may move it; the codec stays while the
// offer has it, and an offer with no codec Tessera speaks changes
// nothing.
func TestHoldUnhold(t *testing.T) {
	e := testEngine(t, Config{})
	p := newPhone(t)
	s := p.dial(e, SessionOptions{}, "0 8")
	frame := toneFrames(t, g711.ULaw, 1000, 1)[0]
	write := func() {
		t.Helper()
		if err := s.WriteFrame(endpoint.Frame{Data: frame, Duration: 20 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	first := s.Answer()
	for _, hold := range []string{"a=sendonly", "a=inactive"} {
		ans, err := s.Update(p.offer("0 8", hold))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]Direction{"a=sendonly": RecvOnly, "a=inactive": Inactive}[hold]
		checkAnswer(t, s, Codec{endpoint.CodecPCMU, 0, 8000}, "", 20*time.Millisecond, want, nil)
		if ans == first {
			t.Error("the answer to a re-INVITE did not change")
		}
		write()
		if _, ok := read(t, p.rtp, 150*time.Millisecond); ok {
			t.Errorf("the session sends while held (%s)", hold)
		}
	}
	if _, err := s.Update(p.offer("3", "a=rtpmap:3 GSM/8000")); !errors.Is(err, ErrNoUsableAudio) || !errors.Is(err, ErrNoMedia) {
		t.Errorf("a re-INVITE with no codec Tessera speaks: %v, want ErrNoUsableAudio", err)
	}
	// Unhold, at a new address: PCMU stays, though no longer first.
	moved := newPhone(t)
	if _, err := s.Update(moved.offer("8 0")); err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, s, Codec{endpoint.CodecPCMU, 0, 8000}, "", 20*time.Millisecond, SendRecv, nil)
	write()
	if _, ok := read(t, moved.rtp, 2*time.Second); !ok {
		t.Fatal("nothing reached the new address after unhold")
	}
	if st := s.Stats(); st.Held != 2 {
		t.Errorf("held frames %d, want 2", st.Held)
	}
}

// Telephone-events become digits, each once, on the end bit; an event
// whose end packets were all lost is reported when the next starts.
func TestDTMF(t *testing.T) {
	e := testEngine(t, Config{})
	p := newPhone(t)
	var mu sync.Mutex
	var got []Digit
	s := p.dial(e, SessionOptions{OnDigit: func(d Digit) {
		mu.Lock()
		got = append(got, d)
		mu.Unlock()
	}}, "0 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16")
	event := func(code byte, ts uint32, ends int, lastDur uint16) {
		for i, dur := range []uint16{160, 320, 480} {
			p.send(nil, 101, ts, i == 0, []byte{code, 10, byte(dur >> 8), byte(dur)})
		}
		for range ends {
			p.send(nil, 101, ts, false, []byte{code, 0x80 | 10, byte(lastDur >> 8), byte(lastDur)})
		}
	}
	event(1, 8000, 3, 800)   // '1', 100 ms
	event(11, 16000, 3, 640) // '#'
	event(5, 24000, 0, 0)    // '5', its end lost
	event(16, 32000, 3, 800) // flash: not a key
	event(12, 40000, 1, 560) // 'A', one end packet
	want := []Digit{{'1', 100 * time.Millisecond}, {'#', 80 * time.Millisecond}, {'5', 60 * time.Millisecond}, {'A', 70 * time.Millisecond}}
	if !eventually(2*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= len(want) }) {
		t.Fatalf("digits %v, want %v", got, want)
	}
	time.Sleep(100 * time.Millisecond) // would a repeat show up?
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("digits %v, want %v", got, want)
	}
	if st := s.Stats(); st.Digits != 4 {
		t.Errorf("digits counted %d, want 4", st.Digits)
	}
}

// Garbage, comfort noise and payload types not negotiated are dropped and
// counted; the codec's packets still reach the room, and nothing else.
func TestGarbageDropped(t *testing.T) {
	e := testEngine(t, Config{})
	p := newPhone(t)
	s := p.dial(e, SessionOptions{}, "0 13 101", "a=rtpmap:101 telephone-event/8000")
	link := newFakeLink()
	if err := s.Attach(t.Context(), &fakeMember{link: link}); err != nil {
		t.Fatal(err)
	}
	frame := toneFrames(t, g711.ULaw, 1000, 1)[0]
	garbage := [][]byte{{}, {0x80}, []byte("not RTP at all"), {0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, // version 1
		{0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1},    // fifteen CSRCs missing
		{0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9}} // padding longer than the payload
	for _, g := range garbage {
		p.raw(p.rtp, g)
	}
	p.send(nil, 13, 0, false, []byte{40})    // comfort noise
	p.send(nil, 18, 0, false, frame)         // G.729, not negotiated
	p.send(nil, 101, 0, false, []byte{1, 2}) // a short telephone-event
	for i := range 5 {
		p.send(nil, 0, uint32(i*160), false, frame)
	}
	if !eventually(2*time.Second, func() bool { _, _, pkts := link.snapshot(); return len(pkts) == 5 }) {
		t.Fatalf("the room got %d packets, want 5", len(link.pkts))
	}
	_, _, pkts := link.snapshot()
	for _, pkt := range pkts {
		if pkt.PayloadType != 0 || len(pkt.Payload) != 160 {
			t.Errorf("the room got pt %d of %d bytes", pkt.PayloadType, len(pkt.Payload))
		}
	}
	if st := s.Stats(); st.Bad != uint64(len(garbage))+1 || st.Dropped != 2 || st.PacketsIn != 5 {
		t.Errorf("stats %+v: want %d bad, 2 dropped, 5 in", st, len(garbage)+1)
	}
}

// No RTP for the timeout ends the session: the room hears ConnUp then
// ConnFailed, OnEnd and Done tell the owner, the microphone's reader
// ends; a held call (the phone sends nothing) does not time out.
func TestInactivityEndsSession(t *testing.T) {
	e := testEngine(t, Config{Timeout: 300 * time.Millisecond})
	p := newPhone(t)
	ended := make(chan error, 1)
	s := p.dial(e, SessionOptions{OnEnd: func(err error) { ended <- err }}, "0")
	link := newFakeLink()
	m := &fakeMember{link: link}
	if err := s.Attach(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if m.media.AudioCodec != endpoint.CodecPCMU || m.media.Kind != endpoint.KindRTP || m.media.Audio != s || !m.media.Sends {
		t.Errorf("attached with %+v", m.media)
	}
	frame := toneFrames(t, g711.ULaw, 1000, 1)[0]
	for i := range 10 {
		p.send(nil, 0, uint32(i*160), false, frame)
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, ErrInactive) {
			t.Fatalf("OnEnd(%v), want ErrInactive", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the session did not end")
	}
	<-s.Done()
	if !errors.Is(s.Err(), ErrInactive) {
		t.Errorf("Err() = %v", s.Err())
	}
	select {
	case <-link.ended:
	case <-time.After(2 * time.Second):
		t.Fatal("the microphone's reader did not end")
	}
	if !errors.Is(link.err, ErrInactive) {
		t.Errorf("ReadRTP ended with %v", link.err)
	}
	_ = s.Close()
	if states, _, _ := link.snapshot(); !slices.Equal(states, []endpoint.ConnState{endpoint.ConnUp, endpoint.ConnFailed}) {
		t.Errorf("states %v, want up then failed", states)
	}

	held := p.dial(e, SessionOptions{OnEnd: func(err error) { ended <- err }}, "0", "a=inactive")
	select {
	case err := <-ended:
		t.Fatalf("a held call ended: %v", err)
	case <-time.After(time.Second):
	}
	// Unheld, it times out again.
	if _, err := held.Update(p.offer("0")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	case <-time.After(3 * time.Second):
		t.Fatal("the unheld call did not time out")
	}
}

// Sender reports go to the phone's RTCP port; the losses of its receiver
// reports reach the room.
func TestRTCP(t *testing.T) {
	e := testEngine(t, Config{ReportInterval: 100 * time.Millisecond})
	p := newPhone(t)
	s := p.dial(e, SessionOptions{}, "0")
	link := newFakeLink()
	if err := s.Attach(t.Context(), &fakeMember{link: link}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteFrame(endpoint.Frame{Data: make([]byte, 160), Duration: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_ = p.rtcp.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := p.rtcp.Read(buf)
	if err != nil {
		t.Fatal("no sender report:", err)
	}
	sr := readSR(t, buf[:n])
	if sr.SSRC != s.ssrc || sr.PacketCount != 1 || sr.OctetCount != 160 {
		t.Errorf("sender report %+v", sr)
	}
	rr := receiverReport(t, 0xfeed, s.ssrc, 7)
	rtcpTo := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(s.Port()+1))
	if _, err := p.rtcp.WriteToUDPAddrPort(rr, rtcpTo); err != nil {
		t.Fatal(err)
	}
	if !eventually(2*time.Second, func() bool { _, lost, _ := link.snapshot(); return slices.Equal(lost, []uint32{7}) }) {
		_, lost, _ := link.snapshot()
		t.Errorf("losses reported %v, want [7]", lost)
	}
}

// Close ends every goroutine of the session and gives its ports back;
// an engine out of ports says so.
func TestCloseAndPorts(t *testing.T) {
	base := 30000 + 2*int(time.Now().UnixNano()%10000)
	e := testEngine(t, Config{PortMin: base, PortMax: base + 3}) // two pairs
	p := newPhone(t)
	goroutines := runtime.NumGoroutine()
	link := newFakeLink()
	a := p.dial(e, SessionOptions{}, "0")
	if err := a.Attach(t.Context(), &fakeMember{link: link}); err != nil {
		t.Fatal(err)
	}
	b := p.dial(e, SessionOptions{}, "0")
	if _, err := e.Offer(p.offer("0"), SessionOptions{}); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("third session: %v, want ErrNoPorts", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-link.ended:
	default:
		t.Error("Close returned before the microphone's reader ended")
	}
	if states, _, _ := link.snapshot(); !slices.Equal(states, []endpoint.ConnState{endpoint.ConnClosed}) {
		t.Errorf("states %v, want closed", states)
	}
	if err := a.WriteFrame(endpoint.Frame{Data: make([]byte, 160)}); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteFrame after Close: %v", err)
	}
	if _, err := a.ReadRTP(); err == nil {
		t.Error("ReadRTP after Close gives no error")
	}
	c := p.dial(e, SessionOptions{}, "0")
	if c.Port() != a.Port() {
		t.Errorf("the freed pair (%d) was not reused (%d)", a.Port(), c.Port())
	}
	_ = b.Close()
	_ = c.Close()
	if _, used := e.Ports(); used != 0 {
		t.Errorf("%d pairs in use after every session closed", used)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines after Close, %d before the sessions", n, goroutines)
	}
	// The ports are really free.
	for _, port := range []int{base, base + 1, base + 2, base + 3} {
		l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			t.Errorf("port %d still held: %v", port, err)
			continue
		}
		_ = l.Close()
	}
}

// Opus goes out one 20 ms packet per frame on the offer's payload type,
// timestamps at 48 kHz, whatever the ptime.
func TestPacketizationOpus(t *testing.T) {
	e := testEngine(t, Config{})
	p := newPhone(t)
	s := p.dial(e, SessionOptions{}, "109 0", "a=rtpmap:109 opus/48000/2", "a=ptime:40")
	for i := range 3 {
		if err := s.WriteFrame(endpoint.Frame{Data: []byte{0xf8, byte(i)}, Duration: 20 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	var prev uint32
	for i := range 3 {
		pkt, ok := read(t, p.rtp, 2*time.Second)
		if !ok {
			t.Fatalf("packet %d never arrived", i)
		}
		if pkt.PayloadType != 109 || len(pkt.Payload) != 2 || pkt.Payload[1] != byte(i) {
			t.Fatalf("packet %d: pt %d, payload %x", i, pkt.PayloadType, pkt.Payload)
		}
		if i > 0 && pkt.Timestamp-prev != 960 {
			t.Errorf("packet %d: timestamp +%d, want +960", i, pkt.Timestamp-prev)
		}
		prev = pkt.Timestamp
	}
}

func TestConfig(t *testing.T) {
	for _, c := range []Config{
		{BindIP: "0.0.0.0"}, // where would the phone send?
		{BindIP: "127.0.0.1", PortMin: 40000, PortMax: 40000},
		{BindIP: "127.0.0.1", PortMin: 80, PortMax: 90},
		{BindIP: "nowhere"},
		{BindIP: "127.0.0.1", SDPIP: "0.0.0.0"},
		{BindIP: "127.0.0.1", Timeout: -time.Second},
	} {
		if _, err := NewEngine(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewEngine(%+v): %v, want ErrInvalidConfig", c, err)
		}
	}
	e, err := NewEngine(Config{BindIP: "0.0.0.0", SDPIP: "192.0.2.7", PortMin: 40001, PortMax: 40010})
	if err != nil {
		t.Fatal(err)
	}
	if total, _ := e.Ports(); total != 4 || e.cfg.Timeout != DefaultTimeout || e.cfg.ReportInterval != DefaultReportInterval {
		t.Errorf("%d pairs in 40002..40010, timeout %v, reports %v", total, e.cfg.Timeout, e.cfg.ReportInterval)
	}
}
