package plainrtp

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/pion/sdp/v3"
)

// answer builds the SDP answer to p for a session whose RTP port is port
// on address local; origin is the session's o= id and version.
func answer(p parsedOffer, local netip.Addr, port int, id, version uint64) (string, error) {
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
		if i != p.audio {
			// Refused (RFC 3264 section 6): port 0, the offer's formats.
			ans.MediaDescriptions = append(ans.MediaDescriptions, &sdp.MediaDescription{MediaName: sdp.MediaName{
				Media: md.MediaName.Media, Port: sdp.RangedPort{Value: 0},
				Protos: md.MediaName.Protos, Formats: md.MediaName.Formats}})
			continue
		}
		ans.MediaDescriptions = append(ans.MediaDescriptions, audioAnswer(p.r, port))
	}
	b, err := ans.Marshal()
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrAnswer, err)
	}
	return string(b), nil
}

// audioAnswer is the answer's audio m-line.
func audioAnswer(r remote, port int) *sdp.MediaDescription {
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
	return &sdp.MediaDescription{
		MediaName: sdp.MediaName{Media: "audio", Port: sdp.RangedPort{Value: port},
			Protos: []string{"RTP", "AVP"}, Formats: formats},
		Attributes: attrs,
	}
}
