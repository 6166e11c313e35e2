package plainrtp

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/tessera-mcu/tessera/internal/loglimit"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// videoQueueLen bounds the camera packets waiting for the room (about a
// second of a 1 Mbps camera); more are dropped and counted.
const videoQueueLen = 128

// videoStream is a session's video: its own RTP and RTCP sockets, SSRC
// and SRTP, the camera it reads and the composite it sends. It is the
// endpoint.FrameWriter of the composite, the endpoint.RTPReader of the
// camera and the endpoint.SenderFeedback that asks the party for
// keyframes.
type videoStream struct {
	s     *Session
	port  int
	rtp   *net.UDPConn
	rtcp  *net.UDPConn
	ssrc  uint32
	codec VideoCodec // as first negotiated; it cannot change
	// sec is the video's own SRTP (nil: plain RTP), set before the
	// session starts.
	sec *srtpState

	// Under s.mu: the latest offer's video (active false: a later offer
	// refused it, so nothing is sent or expected), and where RTP and
	// RTCP go (latched to the party's sources as audio is).
	r                      videoRemote
	active                 bool
	sendTo, rtcpTo         netip.AddrPort
	latched                bool
	latchLog, rtcpLatchLog loglimit.Limiter
	// tooLargeLog: NAL units too large for single NAL unit mode.
	tooLargeLog loglimit.Limiter

	// remoteSSRC is the SSRC of the party's camera (keyframe requests
	// name it).
	remoteSSRC atomic.Uint32
	// lastRTP is when the party's video last arrived (UnixNano; 0:
	// never).
	lastRTP atomic.Int64

	fbMu   sync.Mutex
	firSeq uint8

	queue    chan *rtp.Packet
	send     videoSender
	rtpPlain []byte // the RTP reader goroutine's own
	stats    videoCounters
}

var (
	_ endpoint.FrameWriter    = (*videoStream)(nil)
	_ endpoint.RTPReader      = (*videoStream)(nil)
	_ endpoint.SenderFeedback = (*videoStream)(nil)
)

func newVideoStream(s *Session, port int, rtpConn, rtcpConn *net.UDPConn, v videoRemote) *videoStream {
	vs := &videoStream{s: s, port: port, rtp: rtpConn, rtcp: rtcpConn, ssrc: rand.Uint32(), codec: v.codec,
		r: v, active: true, sendTo: v.rtp, rtcpTo: v.rtcp, queue: make(chan *rtp.Packet, videoQueueLen)}
	vs.send.init(vs)
	return vs
}

// start runs the stream's socket readers on the session's wait group.
func (v *videoStream) start() {
	v.s.wg.Add(2)
	go func() { defer v.s.wg.Done(); v.readRTP() }()
	go func() { defer v.s.wg.Done(); v.readRTCP() }()
}

// close closes the stream's sockets.
func (v *videoStream) close() error { return errors.Join(v.rtp.Close(), v.rtcp.Close()) }

// sends tells whether the party is meant to send video now (s.mu held).
func (v *videoStream) sends() bool { return v.active && v.r.dir.sends() }

// ReadRTP gives the next camera packet (only the negotiated payload
// type): the room's video reader calls it. It ends as Session.ReadRTP
// does.
func (v *videoStream) ReadRTP() (*rtp.Packet, error) {
	select {
	case p := <-v.queue:
		return p, nil
	case <-v.s.ended:
		return nil, v.s.readErr()
	}
}

// readRTP reads the video RTP socket until it closes.
func (v *videoStream) readRTP() {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := v.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			v.s.badLog.Warn(v.s.log, "plain RTP: video read failed", "err", err)
			continue
		}
		v.receive(buf[:n], from, time.Now())
	}
}

// receive handles one datagram from the video RTP socket: the codec's
// packets go to the room's queue, RTCP to the RTCP path, the rest is
// dropped and counted. b is not kept.
func (v *videoStream) receive(b []byte, from netip.AddrPort, now time.Time) {
	s := v.s
	if isRTCP(b) {
		v.receiveRTCP(b, from)
		return
	}
	if v.sec != nil {
		plain, err := v.sec.decryptRTP(v.rtpPlain[:0], b)
		if err != nil {
			v.stats.bad.Add(1)
			s.badLog.Warn(s.log, "SRTP: dropped a video packet that does not authenticate", "from", from, "err", err)
			return
		}
		v.rtpPlain, b = plain[:0], plain
	}
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil || p.Version != 2 {
		v.stats.bad.Add(1)
		s.badLog.Warn(s.log, "plain RTP: dropped a video datagram that is not RTP", "from", from, "bytes", len(b))
		return
	}
	if p.PayloadType != v.codec.PT || len(p.Payload) == 0 {
		v.stats.dropped.Add(1)
		return
	}
	v.heard(from, p.SSRC, now)
	v.stats.packetsIn.Add(1)
	v.stats.bytesIn.Add(uint64(len(p.Payload)))
	p.Padding, p.PaddingSize = false, 0
	p.Payload = append([]byte(nil), p.Payload...)
	select {
	case v.queue <- &p:
	default:
		v.stats.dropped.Add(1)
		s.dropLog.Warn(s.log, "plain RTP: the room is not reading the camera; packets dropped")
	}
}

// heard notes video RTP from from: it keeps the call alive, latches the
// video destination (symmetric RTP) and tells the room once that media
// flows.
func (v *videoStream) heard(from netip.AddrPort, ssrc uint32, now time.Time) {
	s := v.s
	s.lastRTP.Store(now.UnixNano())
	v.lastRTP.Store(now.UnixNano())
	v.remoteSSRC.Store(ssrc)
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	s.mu.Lock()
	if from != v.sendTo {
		old := v.sendTo
		v.sendTo, v.latched = from, true
		v.latchLog.Log(s.log, slog.LevelInfo, "plain RTP: video latched to the source of the party's video", "sdp", old, "source", from)
	}
	s.flowing = true
	link := s.link
	s.mu.Unlock()
	if link != nil && s.upSent.CompareAndSwap(false, true) {
		link.State(s, endpoint.ConnUp)
	}
}

// readRTCP reads the video RTCP socket until it closes.
func (v *videoStream) readRTCP() {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := v.rtcp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			v.s.badLog.Warn(v.s.log, "plain RTP: video RTCP read failed", "err", err)
			continue
		}
		v.receiveRTCP(buf[:n], from)
	}
}

// receiveRTCP takes one RTCP datagram about video: the party's keyframe
// requests (PLI, FIR) for its composite go to the room, and so do the
// losses its receiver reports count.
func (v *videoStream) receiveRTCP(b []byte, from netip.AddrPort) {
	s := v.s
	pkts := s.openRTCP(v.sec, &v.stats.bad, &v.stats.rtcpIn, "video", b, from)
	if pkts == nil {
		return
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	s.mu.Lock()
	if from != v.rtcpTo {
		old := v.rtcpTo
		v.rtcpTo = from
		v.rtcpLatchLog.Log(s.log, slog.LevelInfo, "plain RTP: video RTCP latched to the source of the party's RTCP", "sdp", old, "source", from)
	}
	link := s.link
	s.mu.Unlock()
	if link == nil {
		return
	}
	for _, p := range pkts {
		switch p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			v.stats.keyframeRequestsIn.Add(1)
			link.RequestKeyframe()
		}
		if lost, ok := lossAbout(p, v.ssrc); ok {
			link.ReportLost(true, lost)
		}
	}
}

// RequestKeyframe asks the party for a keyframe of its camera: an RTCP
// PLI (RFC 4585), and for H.264 a FIR too (RFC 5104), which room systems
// that ignore PLI answer.
func (v *videoStream) RequestKeyframe() error {
	remote := v.remoteSSRC.Load()
	pkts := []rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: v.ssrc, MediaSSRC: remote}}
	if v.codec.Name == endpoint.CodecH264 {
		v.fbMu.Lock()
		v.firSeq++
		seq := v.firSeq
		v.fbMu.Unlock()
		pkts = append(pkts, &rtcp.FullIntraRequest{SenderSSRC: v.ssrc, MediaSSRC: remote,
			FIR: []rtcp.FIREntry{{SSRC: remote, SequenceNumber: seq}}})
	}
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		return err
	}
	if v.sendRTCP(b) {
		v.stats.keyframeRequestsOut.Add(1)
	}
	return nil
}

// LimitBitrate is ignored: a plain-RTP party is not asked to lower its
// camera's bitrate (the room scales every camera to its tile anyway).
func (v *videoStream) LimitBitrate(uint64) error { return nil }

// sendReport sends the video's RTCP sender report (or a bare receiver
// report before any picture was sent).
func (v *videoStream) sendReport(now time.Time) {
	var p rtcp.Packet = &rtcp.ReceiverReport{SSRC: v.ssrc}
	if ts, packets, octets, ok := v.send.report(now); ok {
		p = &rtcp.SenderReport{SSRC: v.ssrc, NTPTime: ntpTime(now), RTPTime: ts, PacketCount: packets, OctetCount: octets}
	}
	if b, err := p.Marshal(); err == nil {
		v.sendRTCP(b)
	}
}

// sendRTCP sends one RTCP compound packet to the party's video RTCP
// address; false if it could not.
func (v *videoStream) sendRTCP(b []byte) bool {
	s := v.s
	s.mu.Lock()
	to := v.rtcpTo
	s.mu.Unlock()
	if !to.IsValid() || to.Port() == 0 {
		return false
	}
	if v.sec != nil {
		var err error
		if b, err = v.sec.encryptRTCP(nil, b); err != nil {
			v.stats.sendErrors.Add(1)
			return false
		}
	}
	if _, err := v.rtcp.WriteToUDPAddrPort(b, to); err != nil {
		v.stats.sendErrors.Add(1)
		s.sendLog.Warn(s.log, "plain RTP: video RTCP send failed", "to", to, "err", err)
		return false
	}
	v.stats.rtcpOut.Add(1)
	return true
}

// PictureFastUpdate passes the party's request for a keyframe of the
// composite it receives to the room, as an RTCP PLI or FIR on the video
// port does; room systems also send it as SIP INFO (XML media_control,
// picture_fast_update). It reports whether the session has video and a
// room to ask.
func (s *Session) PictureFastUpdate() bool {
	s.mu.Lock()
	link := s.link
	s.mu.Unlock()
	if s.video == nil || link == nil {
		return false
	}
	s.video.stats.keyframeRequestsIn.Add(1)
	link.RequestKeyframe()
	return true
}
