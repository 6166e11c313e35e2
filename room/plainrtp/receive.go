package plainrtp

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/pion/rtp"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// maxDatagram is the largest datagram read; longer ones are cut and fail
// to parse as what they claim.
const maxDatagram = 1500

// readRTP reads the RTP socket until it closes.
func (s *Session) readRTP() {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := s.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.badLog.Warn(s.log, "plain RTP read failed", "err", err)
			continue
		}
		s.receive(buf[:n], from, time.Now())
	}
}

// readErr is what ReadRTP returns once the session ended.
func (s *Session) readErr() error {
	if errors.Is(s.endErr, ErrClosed) {
		return io.EOF
	}
	return s.endErr
}

// receive handles one datagram from the RTP socket: the codec's packets
// go to the room's queue, telephone-events become digits, RTCP (from a
// party that multiplexes it) goes to the RTCP path, and the rest is
// dropped and counted. b is not kept.
func (s *Session) receive(b []byte, from netip.AddrPort, now time.Time) {
	if isRTCP(b) {
		s.receiveRTCP(b, from)
		return
	}
	if s.sec != nil {
		// Nothing unauthenticated is looked at further (nor latched to).
		plain, err := s.sec.decryptRTP(s.rtpPlain[:0], b)
		if err != nil {
			s.stats.bad.Add(1)
			s.badLog.Warn(s.log, "SRTP: dropped a packet that does not authenticate", "from", from, "err", err)
			return
		}
		s.rtpPlain, b = plain[:0], plain
	}
	var h rtp.Header
	hl, err := h.Unmarshal(b)
	if err != nil || h.Version != 2 || hl > len(b) {
		s.stats.bad.Add(1)
		s.badLog.Warn(s.log, "plain RTP: dropped a datagram that is not RTP", "from", from, "bytes", len(b))
		return
	}
	payload := b[hl:]
	if h.Padding {
		// RFC 3550 section 5.1: the last octet counts the padding.
		if len(payload) == 0 || int(payload[len(payload)-1]) > len(payload) {
			s.stats.bad.Add(1)
			return
		}
		payload = payload[:len(payload)-int(payload[len(payload)-1])]
	}
	s.mu.Lock()
	r, mic := s.r, s.mic
	s.mu.Unlock()
	switch {
	case h.PayloadType == r.codec.PT:
		if len(payload) == 0 {
			s.stats.dropped.Add(1)
			return
		}
		s.heard(from, now)
		s.stats.packetsIn.Add(1)
		s.stats.bytesIn.Add(uint64(len(payload)))
		h.Padding, h.PaddingSize = false, 0
		p := &rtp.Packet{Header: h, Payload: append([]byte(nil), payload...)}
		select {
		case mic.queue <- p:
		default:
			s.stats.dropped.Add(1)
			s.dropLog.Warn(s.log, "plain RTP: the room is not reading the microphone; packets dropped")
		}
	case r.dtmf && h.PayloadType == r.dtmfPT:
		if err := s.dtmf.packet(h.Timestamp, payload, r.dtmfClock, s.digit); err != nil {
			s.stats.bad.Add(1)
			s.badLog.Warn(s.log, "plain RTP: dropped a malformed telephone-event", "from", from, "err", err)
			return
		}
		s.heard(from, now)
		s.stats.packetsIn.Add(1)
		s.stats.bytesIn.Add(uint64(len(payload)))
	case h.PayloadType == ptCN:
		// Comfort noise (RFC 3389): the party is there, but silent.
		s.heard(from, now)
		s.stats.dropped.Add(1)
	default:
		s.stats.dropped.Add(1)
	}
}

// heard notes RTP of the session from from: it keeps the call alive,
// moves the RTP destination to from (symmetric RTP, for a party behind
// NAT), and tells the room once that media flows.
func (s *Session) heard(from netip.AddrPort, now time.Time) {
	s.lastRTP.Store(now.UnixNano())
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	s.mu.Lock()
	if from != s.sendTo {
		old := s.sendTo
		first := !s.latched
		s.sendTo, s.latched = from, true
		if first {
			s.log.Info("plain RTP latched to the source of the party's RTP", "sdp", old, "source", from)
		} else {
			s.latchLog.Log(s.log, slog.LevelInfo, "plain RTP source moved", "from", old, "to", from)
		}
	}
	s.flowing = true
	link := s.link
	s.mu.Unlock()
	if link != nil && s.upSent.CompareAndSwap(false, true) {
		link.State(s, endpoint.ConnUp)
	}
}

// digit reports one DTMF digit.
func (s *Session) digit(d Digit) {
	s.stats.digits.Add(1)
	if s.opts.OnDigit != nil {
		s.opts.OnDigit(d)
	}
}

// isRTCP tells an RTCP packet from RTP on one port (RFC 5761 section
// 4: packet types 192..223 fall on RTP payload types 64..95 with the
// marker bit, which RTP/AVP does not use).
func isRTCP(b []byte) bool {
	return len(b) >= 2 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223
}
