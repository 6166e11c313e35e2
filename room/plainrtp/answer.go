package plainrtp

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/pion/sdp/v3"
)

// answer builds the SDP answer to p for a session whose RTP port is port
// on address local (vport for video); origin is the session's o= id and
// version; key and vkey are Tessera's SRTP master keys and salts of audio
// and video (nil for plain RTP).
func answer(p parsedOffer, local netip.Addr, port, vport int, id, version uint64, key, vkey []byte) (string, error) {
	at := "IP4"
	if local.Is6() {
		at = "IP6"
	}
	conn := &sdp.ConnectionInformation{NetworkType: "IN", AddressType: at, Address: &sdp.Address{Address: local.String()}}
	ans := sdp.SessionDescription{
		Origin: sdp.Origin{Username: "tessera", SessionID: id, SessionVersion: version,
			NetworkType: "IN", AddressType: at, UnicastAddress: local.String()},
		SessionName:           "tessera",
		ConnectionInformation: conn,
		TimeDescriptions:      []sdp.TimeDescription{{}},
	}
	for i, md := range p.sd.MediaDescriptions {
		if i == p.video {
			ans.MediaDescriptions = append(ans.MediaDescriptions, videoAnswer(p.v, vport, vkey))
			continue
		}
		if i != p.audio {
			// Refused (RFC 3264 section 6): port 0, the offer's formats.
			ans.MediaDescriptions = append(ans.MediaDescriptions, &sdp.MediaDescription{MediaName: sdp.MediaName{
				Media: md.MediaName.Media, Port: sdp.RangedPort{Value: 0},
				Protos: md.MediaName.Protos, Formats: md.MediaName.Formats}})
			continue
		}
		ans.MediaDescriptions = append(ans.MediaDescriptions, audioAnswer(p.r, port, key))
	}
	b, err := ans.Marshal()
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrAnswer, err)
	}
	return string(b), nil
}

// audioAnswer is the answer's audio m-line.
func audioAnswer(r remote, port int, key []byte) *sdp.MediaDescription {
	c := r.codec
	formats := []string{strconv.Itoa(int(c.PT))}
	attrs := []sdp.Attribute{sdp.NewAttribute("rtpmap", c.rtpmap())}
	if r.dtmf {
		pt := strconv.Itoa(int(r.dtmfPT))
		formats = append(formats, pt)
		attrs = append(attrs,
			sdp.NewAttribute("rtpmap", fmt.Sprintf("%s telephone-event/%d", pt, r.dtmfClock)),
			sdp.NewAttribute("fmtp", pt+" 0-15"))
	}
	attrs = append(attrs,
		sdp.NewAttribute("ptime", strconv.Itoa(int(r.ptime.Milliseconds()))),
		sdp.NewPropertyAttribute(r.dir.mirror().String()))
	proto := "AVP"
	if r.secure {
		proto = "SAVP"
		attrs = append(attrs, cryptoAttr(r.crypto, key))
	}
	return &sdp.MediaDescription{
		MediaName: sdp.MediaName{Media: "audio", Port: sdp.RangedPort{Value: port},
			Protos: []string{"RTP", proto}, Formats: formats},
		Attributes: attrs,
	}
}
