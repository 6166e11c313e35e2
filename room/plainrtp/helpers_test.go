package plainrtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// testEngine is an engine on loopback with a few port pairs somewhere
// in the upper range (a pair held by another program is skipped).
func testEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	if cfg.PortMin == 0 {
		cfg.PortMin = 30000 + 2*rand.IntN(12000)
		cfg.PortMax = cfg.PortMin + 39
	}
	cfg.BindIP = "127.0.0.1"
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// phone is a plain-RTP party written for the tests: a UDP socket for
// RTP and one for RTCP on loopback.
type phone struct {
	t    testing.TB
	rtp  *net.UDPConn
	rtcp *net.UDPConn
	seq  uint16
	ts   uint32
	to   netip.AddrPort // the session's RTP address
}

func newPhone(t testing.TB) *phone {
	t.Helper()
	p := &phone{t: t, rtp: listen(t), seq: 100, ts: 1000}
	p.rtcp = listen(t)
	return p
}

func listen(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func port(c *net.UDPConn) int { return c.LocalAddr().(*net.UDPAddr).Port }

// offer is the phone's SDP offer: an audio line with formats (e.g.
// "0 8 101") and extra attribute lines, from its RTP port.
func (p *phone) offer(formats string, extra ...string) string {
	return sdpOffer(port(p.rtp), formats, append([]string{fmt.Sprintf("a=rtcp:%d", port(p.rtcp))}, extra...)...)
}

func sdpOffer(rtpPort int, formats string, extra ...string) string {
	lines := []string{"v=0", "o=phone 1 1 IN IP4 127.0.0.1", "s=call", "c=IN IP4 127.0.0.1", "t=0 0",
		fmt.Sprintf("m=audio %d RTP/AVP %s", rtpPort, formats)}
	lines = append(lines, extra...)
	return strings.Join(lines, "\r\n") + "\r\n"
}

// dial offers to e and points the phone at the session.
func (p *phone) dial(e *Engine, opts SessionOptions, formats string, extra ...string) *Session {
	p.t.Helper()
	s, err := e.Offer(p.offer(formats, extra...), opts)
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = s.Close() })
	p.to = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(s.Port()))
	return s
}

// send sends one RTP packet of payload type pt from c (the phone's RTP
// socket if nil).
func (p *phone) send(c *net.UDPConn, pt uint8, ts uint32, marker bool, payload []byte) {
	p.t.Helper()
	if c == nil {
		c = p.rtp
	}
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: p.seq, Timestamp: ts,
		SSRC: 0xfeed, Marker: marker}, Payload: payload}).Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	p.seq++
	p.raw(c, b)
}

// raw sends b to the session's RTP port from c.
func (p *phone) raw(c *net.UDPConn, b []byte) {
	p.t.Helper()
	if _, err := c.WriteToUDPAddrPort(b, p.to); err != nil {
		p.t.Fatal(err)
	}
}

// read reads the next RTP packet on c within d.
func read(t testing.TB, c *net.UDPConn, d time.Duration) (*rtp.Packet, bool) {
	t.Helper()
	buf := make([]byte, 2000)
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, err := c.Read(buf)
	if err != nil {
		return nil, false
	}
	var p rtp.Packet
	if err := p.Unmarshal(buf[:n]); err != nil {
		t.Fatalf("the session sent something that is not RTP: %v", err)
	}
	return &p, true
}

// fakeLink is a Link that records what the session reports and reads the
// microphone into a slice. ended is closed when a reader of the
// microphone ends other than for a change of codec.
type fakeLink struct {
	mu        sync.Mutex
	states    []endpoint.ConnState
	lost      []uint32
	codec     string   // of the latest reader of the microphone
	mixCodecs []string // MixCodec calls
	pkts      []*rtp.Packet
	err       error
	ended     chan struct{}
}

func newFakeLink() *fakeLink { return &fakeLink{ended: make(chan struct{})} }

func (l *fakeLink) RequestKeyframe() {}
func (l *fakeLink) State(_ endpoint.Connection, s endpoint.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.states = append(l.states, s)
}
func (l *fakeLink) ReadAudio(endpoint.Connection, endpoint.RTPReader, uint8) {
	panic("the session reads through ReadAudioCodec")
}
func (l *fakeLink) ReadAudioCodec(_ endpoint.Connection, src endpoint.RTPReader, codec string) {
	l.mu.Lock()
	l.codec = codec
	l.mu.Unlock()
	for {
		p, err := src.ReadRTP()
		l.mu.Lock()
		if err != nil {
			if !errors.Is(err, errReplaced) {
				l.err = err
				close(l.ended)
			}
			l.mu.Unlock()
			return
		}
		l.pkts = append(l.pkts, p)
		l.mu.Unlock()
	}
}
func (l *fakeLink) MixCodec(_ endpoint.Connection, codec string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mixCodecs = append(l.mixCodecs, codec)
	return nil
}
func (l *fakeLink) ReadVideo(endpoint.Connection, endpoint.RTPReader, string, endpoint.SenderFeedback) {
}
func (l *fakeLink) ReadVideoLayer(endpoint.Connection, endpoint.RTPReader, string, string, endpoint.SenderFeedback) {
}
func (l *fakeLink) ReportLost(video bool, n uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !video {
		l.lost = append(l.lost, n)
	}
}

func (l *fakeLink) snapshot() (states []endpoint.ConnState, lost []uint32, pkts []*rtp.Packet) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]endpoint.ConnState(nil), l.states...), append([]uint32(nil), l.lost...), append([]*rtp.Packet(nil), l.pkts...)
}

// fakeMember is a participant that takes the session with a fakeLink.
type fakeMember struct {
	link  *fakeLink
	media endpoint.Media
}

func (m *fakeMember) NewLink() endpoint.Link { return m.link }
func (m *fakeMember) Attach(_ context.Context, _ endpoint.Connection, media endpoint.Media) error {
	m.media = media
	return nil
}

// eventually polls cond every 10 ms until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// readSR parses a sender report.
func readSR(t testing.TB, b []byte) *rtcp.SenderReport {
	t.Helper()
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	sr, ok := pkts[0].(*rtcp.SenderReport)
	if !ok {
		t.Fatalf("the session sent %T, want a sender report", pkts[0])
	}
	return sr
}

// receiverReport is an RTCP receiver report from ssrc about media
// stream about, with lost packets lost.
func receiverReport(t testing.TB, ssrc, about, lost uint32) []byte {
	t.Helper()
	b, err := (&rtcp.ReceiverReport{SSRC: ssrc, Reports: []rtcp.ReceptionReport{{SSRC: about, TotalLost: lost}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
