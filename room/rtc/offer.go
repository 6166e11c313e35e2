package rtc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// mediaOffer is what an offer asks for one kind of media.
type mediaOffer struct {
	// dir is the offerer's direction (sendrecv, sendonly, recvonly).
	dir    webrtc.RTPTransceiverDirection
	codecs []string // lower-case encoding names, in the offer's order
}

func (m *mediaOffer) has(codec string) bool {
	for _, c := range m.codecs {
		if c == codec {
			return true
		}
	}
	return false
}

// sends reports whether the offerer sends this media.
func (m *mediaOffer) sends() bool {
	return m != nil && (m.dir == webrtc.RTPTransceiverDirectionSendrecv || m.dir == webrtc.RTPTransceiverDirectionSendonly)
}

// receives reports whether the offerer wants to receive this media.
func (m *mediaOffer) receives() bool {
	return m != nil && (m.dir == webrtc.RTPTransceiverDirectionSendrecv || m.dir == webrtc.RTPTransceiverDirectionRecvonly)
}

// answerDirection is Tessera's direction for the offer's m-line.
func (m *mediaOffer) answerDirection() webrtc.RTPTransceiverDirection {
	switch m.dir {
	case webrtc.RTPTransceiverDirectionSendonly:
		return webrtc.RTPTransceiverDirectionRecvonly
	case webrtc.RTPTransceiverDirectionRecvonly:
		return webrtc.RTPTransceiverDirectionSendonly
	}
	return webrtc.RTPTransceiverDirectionSendrecv
}

type offerInfo struct {
	audio, video *mediaOffer
	// ufrag is the offerer's ICE username fragment; candidates are the
	// distinct ICE candidates of all its m-lines (see candidateKey).
	ufrag      string
	candidates []string
	// mids maps each medium ("audio", "video") to the mid of its first
	// m-line (its index when it has none).
	mids map[string]string
}

// parseOffer reads the first usable audio and video m-lines of an offer.
func parseOffer(offer string) (offerInfo, error) {
	var info offerInfo
	if strings.TrimSpace(offer) == "" {
		return info, fmt.Errorf("%w: empty SDP", ErrInvalidSDP)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return info, fmt.Errorf("%w: %w", ErrInvalidSDP, err)
	}
	info.mids = map[string]string{}
	for i, m := range sd.MediaDescriptions {
		if _, seen := info.mids[m.MediaName.Media]; !seen {
			mid, ok := m.Attribute("mid")
			if !ok {
				mid = strconv.Itoa(i)
			}
			info.mids[m.MediaName.Media] = mid
		}
		if m.MediaName.Port.Value == 0 {
			continue
		}
		mo := &mediaOffer{dir: webrtc.RTPTransceiverDirectionSendrecv}
		for _, a := range m.Attributes {
			switch a.Key {
			case "sendonly":
				mo.dir = webrtc.RTPTransceiverDirectionSendonly
			case "recvonly":
				mo.dir = webrtc.RTPTransceiverDirectionRecvonly
			case "inactive":
				mo.dir = webrtc.RTPTransceiverDirectionInactive
			case "rtpmap":
				// "96 VP8/90000"
				if _, enc, ok := strings.Cut(a.Value, " "); ok {
					name, _, _ := strings.Cut(enc, "/")
					mo.codecs = append(mo.codecs, strings.ToLower(name))
				}
			}
		}
		if mo.dir == webrtc.RTPTransceiverDirectionInactive {
			continue
		}
		switch m.MediaName.Media {
		case "audio":
			if info.audio == nil && mo.has("opus") {
				info.audio = mo
			}
		case "video":
			if info.video == nil && (mo.has("vp8") || mo.has("h264")) {
				info.video = mo
			}
		}
	}
	if info.audio == nil && info.video == nil {
		return info, fmt.Errorf("%w: no Opus audio, VP8 or H.264 video m-line", ErrNoMedia)
	}
	info.ufrag, info.candidates = offerICE(&sd)
	if n := len(info.candidates); n > MaxRemoteCandidates {
		return info, fmt.Errorf("%w: %w: the offer has %d ICE candidates (at most %d)", ErrInvalidSDP, ErrTooManyCandidates, n, MaxRemoteCandidates)
	}
	return info, nil
}

// offerICE reads an offer's ICE username fragment (session level, else the
// first m-line's that has one) and its distinct candidates.
func offerICE(sd *sdp.SessionDescription) (string, []string) {
	ufrag, _ := sd.Attribute("ice-ufrag")
	var cands []string
	seen := map[string]bool{}
	for _, m := range sd.MediaDescriptions {
		for _, a := range m.Attributes {
			switch {
			case a.Key == "ice-ufrag" && ufrag == "":
				ufrag = a.Value
			case a.IsICECandidate():
				if k := candidateKey(a.Value); k != "" && !seen[k] {
					seen[k] = true
					cands = append(cands, k)
				}
			}
		}
	}
	return ufrag, cands
}

// Video codec names.
const (
	CodecVP8  = endpoint.CodecVP8
	CodecH264 = endpoint.CodecH264
)

// chooseVideoCodec picks the codec a participant's video uses in both
// directions: the preferred one if the offer has it, else H.264 (cheaper
// to encode), else VP8.
func chooseVideoCodec(v *mediaOffer, preferred string) string {
	if preferred != "" && v.has(preferred) {
		return preferred
	}
	if v.has(CodecH264) {
		return CodecH264
	}
	return CodecVP8
}

func videoCapability(codecName string) webrtc.RTPCodecCapability {
	if codecName == CodecH264 {
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h264Fmtp("42e01f"), RTCPFeedback: videoFeedback}
	}
	return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}
}
