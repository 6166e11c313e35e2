package plainrtp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// readRTCP reads the RTCP socket until it closes.
func (s *Session) readRTCP() {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := s.rtcp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.badLog.Warn(s.log, "plain RTP: RTCP read failed", "err", err)
			continue
		}
		s.receiveRTCP(buf[:n], from)
	}
}

// receiveRTCP takes one RTCP datagram: the receiver's reports about the
// mix Tessera sends give the room its count of lost packets; RTCP is
// sent back to the datagram's source (latching, as for RTP). Everything
// else is ignored.
func (s *Session) receiveRTCP(b []byte, from netip.AddrPort) {
	pkts := s.openRTCP(s.sec, &s.stats.bad, &s.stats.rtcpIn, "audio", b, from)
	if pkts == nil {
		return
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	s.mu.Lock()
	if from != s.rtcpTo {
		old := s.rtcpTo
		s.rtcpTo, s.rtcpLatched = from, true
		s.rtcpLatchLog.Log(s.log, slog.LevelInfo, "plain RTP: RTCP latched to the source of the party's RTCP", "sdp", old, "source", from)
	}
	link := s.link
	s.mu.Unlock()
	if link == nil {
		return
	}
	for _, p := range pkts {
		if lost, ok := lossAbout(p, s.ssrc); ok {
			link.ReportLost(false, lost)
		}
	}
}

// openRTCP authenticates (SRTCP, when sec is set) and parses one RTCP
// datagram of medium, counting it in bad or in; nil when it is dropped.
// It decrypts into fresh memory: a medium's RTP reader (RTCP multiplexed
// on the RTP port) and its RTCP reader may both get here.
func (s *Session) openRTCP(sec *srtpState, bad, in *atomic.Uint64, medium string, b []byte, from netip.AddrPort) []rtcp.Packet {
	if sec != nil {
		plain, err := sec.decryptRTCP(nil, b)
		if err != nil {
			bad.Add(1)
			s.badLog.Warn(s.log, "SRTCP: dropped a packet that does not authenticate", "medium", medium, "from", from, "err", err)
			return nil
		}
		b = plain
	}
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		bad.Add(1)
		s.badLog.Warn(s.log, "plain RTP: dropped a datagram that is not RTCP", "medium", medium, "from", from, "bytes", len(b))
		return nil
	}
	in.Add(1)
	return pkts
}

// lossAbout is the cumulative loss a sender or receiver report gives of
// the stream ssrc, if it has a block about it.
func lossAbout(p rtcp.Packet, ssrc uint32) (uint32, bool) {
	var blocks []rtcp.ReceptionReport
	switch p := p.(type) {
	case *rtcp.ReceiverReport:
		blocks = p.Reports
	case *rtcp.SenderReport:
		blocks = p.Reports
	}
	for _, rr := range blocks {
		if rr.SSRC == ssrc {
			return rr.TotalLost, true
		}
	}
	return 0, false
}

// clock sends a sender report every report interval and ends the session
// when the remote party, meant to send, sent no RTP for the timeout.
func (s *Session) clock() {
	cfg := s.eng.cfg
	reports := time.NewTicker(cfg.ReportInterval)
	defer reports.Stop()
	checks := time.NewTicker(min(cfg.Timeout/4, time.Second))
	defer checks.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-reports.C:
			s.sendReport(now)
			if s.video != nil {
				s.video.sendReport(now)
			}
		case now := <-checks.C:
			if s.inactive(now, cfg.Timeout) {
				s.timedOut(cfg.Timeout)
				return
			}
		}
	}
}

// inactive tells whether the remote party, meant to send, has been quiet
// for longer than timeout: RTP of either medium keeps the call alive.
func (s *Session) inactive(now time.Time, timeout time.Duration) bool {
	s.mu.Lock()
	sends := s.r.dir.sends() || (s.video != nil && s.video.sends())
	s.mu.Unlock()
	if !sends {
		s.lastRTP.Store(now.UnixNano()) // on hold: the clock restarts on unhold
		return false
	}
	return now.Sub(time.Unix(0, s.lastRTP.Load())) > timeout
}

// timedOut ends the session for inactivity: the room hears ConnFailed,
// the owner OnEnd, and the microphone's reader ends.
func (s *Session) timedOut(timeout time.Duration) {
	err := fmt.Errorf("%w (%s)", ErrInactive, timeout)
	if !s.end(err) {
		return // closed meanwhile
	}
	s.log.Info("plain RTP session ended: no RTP", "timeout", timeout)
	s.mu.Lock()
	link := s.link
	s.mu.Unlock()
	if link != nil {
		link.State(s, endpoint.ConnFailed)
	}
	if s.opts.OnEnd != nil {
		s.opts.OnEnd(err)
	}
}

// sendReport sends an RTCP sender report (RFC 3550 section 6.4.1), or a
// bare receiver report before anything was sent.
func (s *Session) sendReport(now time.Time) {
	s.mu.Lock()
	to, clock := s.rtcpTo, s.r.codec.Clock
	s.mu.Unlock()
	if !to.IsValid() || to.Port() == 0 {
		return
	}
	var p rtcp.Packet = &rtcp.ReceiverReport{SSRC: s.ssrc}
	if ts, packets, octets, ok := s.send.report(now, clock); ok {
		p = &rtcp.SenderReport{SSRC: s.ssrc, NTPTime: ntpTime(now), RTPTime: ts, PacketCount: packets, OctetCount: octets}
	}
	b, err := p.Marshal()
	if err != nil {
		return
	}
	if s.sec != nil {
		if b, err = s.sec.encryptRTCP(nil, b); err != nil {
			s.stats.sendErrors.Add(1)
			return
		}
	}
	if _, err := s.rtcp.WriteToUDPAddrPort(b, to); err != nil {
		s.stats.sendErrors.Add(1)
		s.sendLog.Warn(s.log, "plain RTP: RTCP send failed", "to", to, "err", err)
		return
	}
	s.stats.rtcpOut.Add(1)
}

// ntpTime is t in the NTP format of sender reports: seconds since 1900
// in the high 32 bits, the fraction in the low 32.
func ntpTime(t time.Time) uint64 {
	const unixToNTP = 2208988800
	secs := uint64(t.Unix()) + unixToNTP
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}
