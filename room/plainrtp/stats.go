package plainrtp

import "sync/atomic"

// Stats counts what a session carried and refused.
type Stats struct {
	// PacketsIn and BytesIn: RTP taken from the remote party (the codec's
	// packets and telephone-events), payload bytes.
	PacketsIn, BytesIn uint64
	// PacketsOut and BytesOut: RTP sent, payload bytes.
	PacketsOut, BytesOut uint64
	// Dropped: well-formed RTP not passed on: comfort noise, payload types
	// not negotiated, and packets the room did not read in time (a full
	// queue).
	Dropped uint64
	// Bad: datagrams that are neither RTP nor RTCP, malformed
	// telephone-events, and SRTP or SRTCP that does not authenticate.
	Bad uint64
	// Digits: DTMF digits reported.
	Digits uint64
	// RTCPIn and RTCPOut: RTCP packets received and sent.
	RTCPIn, RTCPOut uint64
	// SendErrors: RTP or RTCP packets the socket refused.
	SendErrors uint64
	// Held: frames of the mix not sent because the call is on hold (or
	// because they were encoded in a codec a new offer had just left).
	Held uint64
	// Video counts the video stream's packets (all zero without video);
	// the fields above are audio's.
	Video VideoStats
}

// VideoStats counts what a session's video carried and refused.
type VideoStats struct {
	// PacketsIn and BytesIn: the camera's RTP, payload bytes.
	PacketsIn, BytesIn uint64
	// PacketsOut and BytesOut: the composite's RTP, payload bytes;
	// Pictures: pictures of it sent.
	PacketsOut, BytesOut, Pictures uint64
	// Dropped: well-formed RTP not passed on (payload types not
	// negotiated, a full queue). Bad: datagrams that are neither RTP nor
	// RTCP, or SRTP that does not authenticate.
	Dropped, Bad uint64
	// RTCPIn and RTCPOut: RTCP packets received and sent.
	RTCPIn, RTCPOut uint64
	// KeyframeRequestsIn: PLIs and FIRs from the party, passed to the
	// room; KeyframeRequestsOut: requests sent to the party for its
	// camera.
	KeyframeRequestsIn, KeyframeRequestsOut uint64
	// SendErrors: packets the socket refused. Held: pictures not sent
	// while the call is on hold.
	SendErrors, Held uint64
	// TooLarge: H.264 NAL units not sent in single NAL unit mode
	// (packetization-mode 0) because they exceed a packet.
	TooLarge uint64
}

// counters is Stats, counted as it happens.
type counters struct {
	packetsIn, bytesIn, packetsOut, bytesOut atomic.Uint64
	dropped, bad, digits, rtcpIn, rtcpOut    atomic.Uint64
	sendErrors, held                         atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		PacketsIn: c.packetsIn.Load(), BytesIn: c.bytesIn.Load(),
		PacketsOut: c.packetsOut.Load(), BytesOut: c.bytesOut.Load(),
		Dropped: c.dropped.Load(), Bad: c.bad.Load(), Digits: c.digits.Load(),
		RTCPIn: c.rtcpIn.Load(), RTCPOut: c.rtcpOut.Load(),
		SendErrors: c.sendErrors.Load(), Held: c.held.Load(),
	}
}

// videoCounters is VideoStats, counted as it happens.
type videoCounters struct {
	packetsIn, bytesIn, packetsOut, bytesOut, pictures atomic.Uint64
	dropped, bad, rtcpIn, rtcpOut                      atomic.Uint64
	keyframeRequestsIn, keyframeRequestsOut            atomic.Uint64
	sendErrors, held, tooLarge                         atomic.Uint64
}

func (c *videoCounters) snapshot() VideoStats {
	return VideoStats{
		PacketsIn: c.packetsIn.Load(), BytesIn: c.bytesIn.Load(),
		PacketsOut: c.packetsOut.Load(), BytesOut: c.bytesOut.Load(), Pictures: c.pictures.Load(),
		Dropped: c.dropped.Load(), Bad: c.bad.Load(), RTCPIn: c.rtcpIn.Load(), RTCPOut: c.rtcpOut.Load(),
		KeyframeRequestsIn: c.keyframeRequestsIn.Load(), KeyframeRequestsOut: c.keyframeRequestsOut.Load(),
		SendErrors: c.sendErrors.Load(), Held: c.held.Load(), TooLarge: c.tooLarge.Load(),
	}
}
