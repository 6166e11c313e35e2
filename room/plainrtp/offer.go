package plainrtp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pion/sdp/v3"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// Codec is an audio codec Tessera speaks over plain RTP, as negotiated.
type Codec struct {
	// Name is endpoint.CodecPCMU, CodecPCMA, CodecG722 or CodecOpus.
	Name string
	// PT is the RTP payload type (0 for PCMU, 8 for PCMA, 9 for G.722,
	// the offer's dynamic one for Opus).
	PT uint8
	// Clock is the RTP clock rate (8000 for G.711 and, by RFC 3551's
	// convention, for G.722, whose audio is 16 kHz; 48000 for Opus).
	Clock uint32
}

// frameTicks is one 20 ms frame in RTP clock ticks.
func (c Codec) frameTicks() uint32 { return c.Clock / 50 }

// rtpmap is the codec's a=rtpmap value.
func (c Codec) rtpmap() string {
	switch c.Name {
	case endpoint.CodecPCMU:
		return "0 PCMU/8000"
	case endpoint.CodecPCMA:
		return "8 PCMA/8000"
	case endpoint.CodecG722:
		return "9 G722/8000"
	}
	return fmt.Sprintf("%d opus/48000/2", c.PT)
}

// Static payload types of RFC 3551.
const (
	ptPCMU = 0
	ptPCMA = 8
	ptG722 = 9
	ptCN   = 13
)

// ptime bounds: what Tessera sends is a multiple of 20 ms up to maxPtime.
const (
	framePtime = 20 * time.Millisecond
	maxPtime   = 120 * time.Millisecond
)

// Direction is a media stream's direction as one side states it (RFC
// 3264 section 6.1).
type Direction int

// Directions.
const (
	SendRecv Direction = iota
	SendOnly
	RecvOnly
	Inactive
)

func (d Direction) String() string {
	return [...]string{"sendrecv", "sendonly", "recvonly", "inactive"}[d]
}

// mirror is the answer's direction to an offer of d.
func (d Direction) mirror() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	}
	return d
}

// sends tells whether a party that stated d sends media.
func (d Direction) sends() bool { return d == SendRecv || d == SendOnly }

// receives tells whether a party that stated d takes media.
func (d Direction) receives() bool { return d == SendRecv || d == RecvOnly }

// remote is what an offer says of the remote party's audio.
type remote struct {
	codec Codec
	// dtmfPT and dtmfClock: RFC 4733 telephone-event (dtmf false: not
	// offered).
	dtmf      bool
	dtmfPT    uint8
	dtmfClock uint32
	// ptime is the packet time Tessera sends (a multiple of 20 ms).
	ptime time.Duration
	dir   Direction
	// rtp and rtcp are where the remote party takes its media; an
	// invalid rtp (c= 0.0.0.0, RFC 2543 hold) sends nothing.
	rtp, rtcp netip.AddrPort
	// secure: RTP/SAVP, keyed by crypto (SDES).
	secure bool
	crypto crypto
}

// parsedOffer is an offer with its audio stream, and maybe its video
// stream, picked.
type parsedOffer struct {
	sd *sdp.SessionDescription
	// audio and video are the indexes of the m-lines answered (video -1:
	// none); the others are refused.
	audio, video int
	r            remote
	v            videoRemote
}

// videoWanted says which video an offer may have answered: none (a
// session set up without video takes none later), any, or the codec an
// established session has.
type videoWanted struct {
	allowed bool
	keep    *VideoCodec
}

// parseOffer parses an SDP offer and picks its audio stream and codec,
// and its video stream as wanted allows. keep, if set, is the codec an
// established session has: if the offer still carries it, it is kept
// (its payload type may change); if not, the offer's first codec Tessera
// speaks is picked, and the session changes codec.
func parseOffer(offer string, keep *Codec, wanted videoWanted) (parsedOffer, error) {
	p, err := parseAudioOffer(offer, keep)
	if err != nil || !wanted.allowed {
		return p, err
	}
	for i, md := range p.sd.MediaDescriptions {
		if md.MediaName.Media != "video" || md.MediaName.Port.Value == 0 {
			continue
		}
		// Video goes as audio does: RTP/AVP, or SRTP keyed in the SDP.
		if (p.r.secure && !isSAVP(md.MediaName.Protos)) || (!p.r.secure && !isAVP(md.MediaName.Protos)) {
			continue
		}
		v, ok, err := parseVideo(p.sd, md, wanted.keep)
		if err != nil {
			return p, err
		}
		if ok {
			p.video, p.v = i, v
			break
		}
	}
	return p, nil
}

// parseAudioOffer parses an SDP offer and picks its audio stream.
func parseAudioOffer(offer string, keep *Codec) (parsedOffer, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return parsedOffer{}, fmt.Errorf("%w: %w", ErrInvalidSDP, err)
	}
	p := parsedOffer{sd: &sd, audio: -1, video: -1}
	for i, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 ||
			(!isAVP(md.MediaName.Protos) && !isSAVP(md.MediaName.Protos)) {
			continue
		}
		r, ok, err := parseAudio(&sd, md, keep)
		if err != nil {
			return p, err
		}
		if !ok {
			continue
		}
		p.audio, p.r = i, r
		return p, nil
	}
	return p, ErrNoUsableAudio
}

// isAVP tells whether a media line's protocol is RTP/AVP (RTP/SAVP, see
// isSAVP, is SRTP).
func isAVP(protos []string) bool {
	return len(protos) == 2 && strings.EqualFold(protos[0], "RTP") && strings.EqualFold(protos[1], "AVP")
}

// parseAudio reads one audio m-line; ok is false when it has no codec
// Tessera takes. The codec is keep's if the line has it, else the line's
// first that Tessera speaks.
func parseAudio(sd *sdp.SessionDescription, md *sdp.MediaDescription, keep *Codec) (r remote, ok bool, err error) {
	rtpmaps := map[int]string{} // pt → "name/clock[/channels]", lower case
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, desc, found := strings.Cut(a.Value, " ")
		n, perr := strconv.Atoi(pt)
		if !found || perr != nil || n < 0 || n > 127 {
			return r, false, fmt.Errorf("%w: a=rtpmap:%s", ErrInvalidSDP, a.Value)
		}
		rtpmaps[n] = strings.ToLower(strings.TrimSpace(desc))
	}
	var dtmf []struct {
		pt    uint8
		clock uint32
	}
	for _, f := range md.MediaName.Formats {
		n, perr := strconv.Atoi(f)
		if perr != nil || n < 0 || n > 127 {
			return r, false, fmt.Errorf("%w: payload type %q", ErrInvalidSDP, f)
		}
		c, known := formatCodec(n, rtpmaps[n])
		if known && (!ok || (keep != nil && keep.Name == c.Name && r.codec.Name != c.Name)) {
			r.codec, ok = c, true
		}
		if name, clock, found := strings.Cut(rtpmaps[n], "/"); found && name == "telephone-event" {
			hz, cerr := strconv.ParseUint(clock, 10, 32)
			if cerr == nil && hz > 0 {
				dtmf = append(dtmf, struct {
					pt    uint8
					clock uint32
				}{uint8(n), uint32(hz)})
			}
		}
	}
	if !ok {
		return r, false, nil
	}
	// The telephone-event at the codec's clock if offered, else the
	// first (RFC 4733 section 2.1 lets the clocks differ).
	for i, d := range dtmf {
		if i == 0 || d.clock == r.codec.Clock {
			r.dtmf, r.dtmfPT, r.dtmfClock = true, d.pt, d.clock
		}
		if d.clock == r.codec.Clock {
			break
		}
	}
	r.ptime = framePtime
	if v, found := md.Attribute("ptime"); found {
		r.ptime = sendPtime(v, r.codec)
	} else if v, found := sd.Attribute("ptime"); found {
		r.ptime = sendPtime(v, r.codec)
	}
	r.dir = direction(md.Attributes)
	if d := direction(sd.Attributes); r.dir == SendRecv && d != SendRecv {
		r.dir = d // a session-level direction applies to lines without one
	}
	if r.rtp, r.rtcp, err = addresses(sd, md); err != nil {
		return r, false, err
	}
	if isSAVP(md.MediaName.Protos) {
		c, found, cerr := parseCrypto(md)
		if !found {
			// No key in a suite Tessera takes: the stream is refused
			// (an unreadable key is the offer's error).
			return r, false, cerr
		}
		r.secure, r.crypto = true, c
	}
	return r, true, nil
}

// formatCodec tells which of Tessera's codecs payload type pt with
// rtpmap (lower case, "" if none) is.
func formatCodec(pt int, rtpmap string) (Codec, bool) {
	switch {
	case pt == ptPCMU && (rtpmap == "" || strings.HasPrefix(rtpmap, "pcmu/8000")):
		return Codec{Name: endpoint.CodecPCMU, PT: ptPCMU, Clock: 8000}, true
	case pt == ptPCMA && (rtpmap == "" || strings.HasPrefix(rtpmap, "pcma/8000")):
		return Codec{Name: endpoint.CodecPCMA, PT: ptPCMA, Clock: 8000}, true
	case pt == ptG722 && (rtpmap == "" || strings.HasPrefix(rtpmap, "g722/8000")):
		return Codec{Name: endpoint.CodecG722, PT: ptG722, Clock: 8000}, true
	case pt >= 96 && rtpmap == "opus/48000/2":
		return Codec{Name: endpoint.CodecOpus, PT: uint8(pt), Clock: 48000}, true
	}
	return Codec{}, false
}

// sendPtime is the packet time Tessera sends for an a=ptime value: the
// largest multiple of 20 ms not above it (G.711 and G.722 frames join; Opus
// packets stay 20 ms, each one self-describing), within 20..120 ms.
func sendPtime(v string, c Codec) time.Duration {
	ms, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || c.Name == endpoint.CodecOpus {
		return framePtime
	}
	d := time.Duration(ms * float64(time.Millisecond)).Truncate(framePtime)
	return min(max(d, framePtime), maxPtime)
}

// direction is the direction attribute among attrs (sendrecv if none).
func direction(attrs []sdp.Attribute) Direction {
	for _, a := range attrs {
		switch a.Key {
		case "sendonly":
			return SendOnly
		case "recvonly":
			return RecvOnly
		case "inactive":
			return Inactive
		case "sendrecv":
			return SendRecv
		}
	}
	return SendRecv
}

// addresses are where an m-line takes RTP and RTCP: its c= (or the
// session's), its port, and a=rtcp (RFC 3605) or the next port.
func addresses(sd *sdp.SessionDescription, md *sdp.MediaDescription) (rtp, rtcp netip.AddrPort, err error) {
	ci := md.ConnectionInformation
	if ci == nil {
		ci = sd.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return rtp, rtcp, fmt.Errorf("%w: no c= line for the %s stream", ErrInvalidSDP, md.MediaName.Media)
	}
	if ci.NetworkType != "IN" || (ci.AddressType != "IP4" && ci.AddressType != "IP6") {
		return rtp, rtcp, fmt.Errorf("%w: c=%s %s", ErrInvalidSDP, ci.NetworkType, ci.AddressType)
	}
	addr, perr := netip.ParseAddr(ci.Address.Address)
	if perr != nil {
		return rtp, rtcp, fmt.Errorf("%w: c= address %q (a host name or multicast group is not taken)", ErrInvalidSDP, ci.Address.Address)
	}
	port := md.MediaName.Port.Value
	if port <= 0 || port > 65535 {
		return rtp, rtcp, fmt.Errorf("%w: %s port %d", ErrInvalidSDP, md.MediaName.Media, port)
	}
	if addr.IsUnspecified() {
		return rtp, rtcp, nil // on hold the old way: nowhere to send
	}
	addr = addr.Unmap()
	rtp = netip.AddrPortFrom(addr, uint16(port))
	rtcp = netip.AddrPortFrom(addr, uint16(port+1)) // port+1 = 65536 wraps to 0, no RTCP
	if v, found := md.Attribute("rtcp"); found {
		fields := strings.Fields(v) // port [IN IP4 address]
		if len(fields) == 0 {
			return rtp, rtcp, fmt.Errorf("%w: empty a=rtcp", ErrInvalidSDP)
		}
		if n, perr := strconv.Atoi(fields[0]); perr == nil && n > 0 && n <= 65535 {
			rtcp = netip.AddrPortFrom(addr, uint16(n))
			if len(fields) == 4 {
				if a, aerr := netip.ParseAddr(fields[3]); aerr == nil && !a.IsUnspecified() {
					rtcp = netip.AddrPortFrom(a.Unmap(), uint16(n))
				}
			}
		}
	}
	return rtp, rtcp, nil
}
