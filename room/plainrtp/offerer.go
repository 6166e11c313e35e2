package plainrtp

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/pion/sdp/v3"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// offerDTMF is the payload type of the telephone-event Tessera offers.
const offerDTMF = 101

// NewOffer opens a session on a free port pair for a call Tessera places
// and returns it with Tessera's SDP offer: one RTP/AVP audio stream with
// G.722, PCMU, PCMA and telephone-event/8000 (events 0-15), ptime 20,
// sendrecv, at the engine's SDP address. G.722 comes first, as most
// PBXes offer it: a phone that has it answers in wideband, and every
// phone has G.711. The session carries no media until
// Answered takes the callee's answer; Close ends it whether or not it
// was answered.
func (e *Engine) NewOffer(opts SessionOptions) (*Session, string, error) {
	port, rtpConn, rtcpConn, err := e.listen()
	if err != nil {
		return nil, "", err
	}
	s := newSession(e, opts, port, rtpConn, rtcpConn, remote{})
	offer, err := localOffer(e.sdpIP, port, s.id, s.version)
	if err != nil {
		_ = s.Close()
		return nil, "", err
	}
	s.mu.Lock()
	s.answer = offer // Tessera's latest SDP, until a re-offer is answered
	s.mu.Unlock()
	return s, offer, nil
}

// Answered takes the callee's SDP answer to the offer of NewOffer and
// starts the media: the codec is the answer's first among those offered,
// media goes to the answer's address, in its direction, with its
// telephone-event payload type. An answer with no offered codec is an
// error wrapping ErrNoMedia (ErrNoUsableAudio), one that does not parse
// ErrInvalidSDP; the session then stays unanswered and the caller closes
// it. A session answers once: a second call is an error.
func (s *Session) Answered(answer string) error {
	p, err := parseOffer(answer, nil, videoWanted{}) // the offer had no video
	if err != nil {
		return err
	}
	if p.r.secure || p.r.codec.Name == endpoint.CodecOpus {
		return fmt.Errorf("%w (the answer picks %s, not offered)", ErrNoUsableAudio, p.r.codec.Name)
	}
	if p.r.dtmf && p.r.dtmfClock != 8000 {
		p.r.dtmf = false // only telephone-event/8000 was offered
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case s.r.codec.Name != "":
		s.mu.Unlock()
		return ErrAnswered
	}
	s.r = p.r
	s.mic = newMicTrack(s, p.r.codec.Name)
	s.sendTo, s.rtcpTo = p.r.rtp, p.r.rtcp
	s.mu.Unlock()
	s.lastRTP.Store(time.Now().UnixNano())
	s.start()
	return nil
}

// localOffer is Tessera's offer for a session on port.
func localOffer(local netip.Addr, port int, id, version uint64) (string, error) {
	at := "IP4"
	if local.Is6() {
		at = "IP6"
	}
	dtmf := strconv.Itoa(offerDTMF)
	sd := sdp.SessionDescription{
		Origin: sdp.Origin{Username: "tessera", SessionID: id, SessionVersion: version,
			NetworkType: "IN", AddressType: at, UnicastAddress: local.String()},
		SessionName:           "tessera",
		ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: at, Address: &sdp.Address{Address: local.String()}},
		TimeDescriptions:      []sdp.TimeDescription{{}},
		MediaDescriptions: []*sdp.MediaDescription{{
			MediaName: sdp.MediaName{Media: "audio", Port: sdp.RangedPort{Value: port},
				Protos: []string{"RTP", "AVP"}, Formats: []string{"9", "0", "8", dtmf}},
			Attributes: []sdp.Attribute{
				sdp.NewAttribute("rtpmap", "9 G722/8000"),
				sdp.NewAttribute("rtpmap", "0 PCMU/8000"),
				sdp.NewAttribute("rtpmap", "8 PCMA/8000"),
				sdp.NewAttribute("rtpmap", dtmf+" telephone-event/8000"),
				sdp.NewAttribute("fmtp", dtmf+" 0-15"),
				sdp.NewAttribute("ptime", "20"),
				sdp.NewPropertyAttribute(SendRecv.String()),
			},
		}},
	}
	b, err := sd.Marshal()
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrAnswer, err)
	}
	return string(b), nil
}
