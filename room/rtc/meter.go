package rtc

import (
	"math/bits"
	"strings"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// Traffic counts one medium's RTP on the media port: packets and bytes
// (RTP header and payload, before SRTP) in and out, retransmissions
// included.
type Traffic struct {
	PacketsIn, PacketsOut uint64
	BytesIn, BytesOut     uint64
}

// Stats are the engine's counters since it started, over every
// PeerConnection it made.
type Stats struct {
	Audio, Video Traffic
	// NACKsIn counts the packets receivers asked to have sent again (RTCP
	// generic NACK, RFC 4585 section 6.2.1); NACKsOut, those Tessera asked
	// senders for.
	NACKsIn, NACKsOut uint64
	// SocketDrops counts the datagrams the kernel dropped on the media
	// port because its receive buffer was full (0 where /proc/net cannot
	// tell). SocketReceiveBuffer and SocketSendBuffer are the buffers the
	// port got, in bytes (0: the kernel's default, not asked for).
	SocketDrops                           uint64
	SocketReceiveBuffer, SocketSendBuffer int
	// SendCalls and ReceiveCalls are the media port's sendmmsg and
	// recvmmsg calls, DatagramsSent and DatagramsReceived the datagrams
	// they moved (0 all when the port is not batched). SendQueueDrops are
	// datagrams dropped because the send queue was full, SendErrors those
	// the socket refused.
	SendCalls, DatagramsSent, ReceiveCalls, DatagramsReceived uint64
	SendQueueDrops, SendErrors                                uint64
}

// Stats returns the engine's counters, as of now.
func (e *Engine) Stats() Stats {
	s := e.meter.stats()
	s.SocketReceiveBuffer, s.SocketSendBuffer = e.rcvBuf, e.sndBuf
	if e.batch != nil {
		b := e.batch.stats()
		s.SendCalls, s.DatagramsSent, s.ReceiveCalls, s.DatagramsReceived = b.Sends, b.Sent, b.Receives, b.Received
		s.SendQueueDrops, s.SendErrors = b.QueueDrops, b.SendErrors
	}
	if d, err := socketDrops(e.port); err == nil {
		s.SocketDrops = d
	}
	return s
}

// meter counts what crosses the media port. It is an interceptor placed
// next to the transport, so it sees every packet as it goes out or comes
// in: one atomic add per packet and per byte count, nothing else.
type meter struct {
	interceptor.NoOp
	traffic           [2]struct{ packetsIn, packetsOut, bytesIn, bytesOut atomic.Uint64 } // audio, video
	nacksIn, nacksOut atomic.Uint64
}

func (m *meter) stats() Stats {
	var s Stats
	for i, t := range []*Traffic{&s.Audio, &s.Video} {
		c := &m.traffic[i]
		*t = Traffic{PacketsIn: c.packetsIn.Load(), PacketsOut: c.packetsOut.Load(),
			BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load()}
	}
	s.NACKsIn, s.NACKsOut = m.nacksIn.Load(), m.nacksOut.Load()
	return s
}

// NewInterceptor implements interceptor.Factory: every PeerConnection
// shares the one meter.
func (m *meter) NewInterceptor(string) (interceptor.Interceptor, error) { return m, nil }

// medium is 1 for a video stream, 0 for audio.
func medium(info *interceptor.StreamInfo) int {
	if strings.HasPrefix(strings.ToLower(info.MimeType), "video/") {
		return 1
	}
	return 0
}

func (m *meter) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	c := &m.traffic[medium(info)]
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		n, err := w.Write(h, payload, a)
		if err == nil {
			c.packetsOut.Add(1)
			c.bytesOut.Add(uint64(h.MarshalSize() + len(payload)))
		}
		return n, err
	})
}

func (m *meter) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	c := &m.traffic[medium(info)]
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := r.Read(b, a)
		if err == nil {
			c.packetsIn.Add(1)
			c.bytesIn.Add(uint64(n))
		}
		return n, a, err
	})
}

func (m *meter) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := r.Read(b, a)
		if err != nil {
			return n, a, err
		}
		if a == nil {
			a = interceptor.Attributes{}
		}
		// Parsed once: the attributes keep the packets for the
		// interceptors after this one.
		if pkts, perr := a.GetRTCPPackets(b[:n]); perr == nil {
			m.nacksIn.Add(nacked(pkts))
		}
		return n, a, nil
	})
}

func (m *meter) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		n, err := w.Write(pkts, a)
		if err == nil {
			m.nacksOut.Add(nacked(pkts))
		}
		return n, err
	})
}

// nacked counts the packets the generic NACKs among pkts ask for: each
// pair names one packet and up to 16 after it (RFC 4585 section 6.2.1).
func nacked(pkts []rtcp.Packet) uint64 {
	var n uint64
	for _, p := range pkts {
		if nack, ok := p.(*rtcp.TransportLayerNack); ok {
			for _, pair := range nack.Nacks {
				n += 1 + uint64(bits.OnesCount16(uint16(pair.LostPackets)))
			}
		}
	}
	return n
}
