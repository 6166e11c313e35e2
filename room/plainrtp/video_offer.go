package plainrtp

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// VideoCodec is the video codec negotiated with a plain-RTP party.
type VideoCodec struct {
	// Name is endpoint.CodecH264 or endpoint.CodecVP8.
	Name string
	// PT is the offer's dynamic payload type for it.
	PT uint8
	// MaxFS is the largest picture the party decodes, in macroblocks of
	// 16x16 pixels (0: no limit): for H.264 the max-fs of its
	// profile-level-id's level (H.264 Table A-1), for either codec an
	// explicit max-fs parameter instead.
	MaxFS int
	// ImageMax is the largest picture, in pixels, that the party's
	// a=imageattr recv sets for the format allow (RFC 6236; 0: none
	// stated).
	ImageMax int
	// Mode is H.264's packetization-mode (RFC 6184): 1 (non-interleaved:
	// FU-A and STAP-A too) or 0 (single NAL unit: every NAL unit in a
	// packet of its own, none larger than the MTU).
	Mode int
}

// MaxPictureSize is the largest picture the party decodes, in pixels (0:
// no limit): the smaller of its frame size (MaxFS) and ImageMax.
func (c VideoCodec) MaxPictureSize() int {
	px := c.MaxFS * 256
	if c.ImageMax > 0 && (px == 0 || c.ImageMax < px) {
		px = c.ImageMax
	}
	return px
}

// videoClock is the RTP clock of video (RFC 6184, RFC 7741).
const videoClock = 90000

// videoRemote is what an offer says of the remote party's video.
type videoRemote struct {
	codec VideoCodec
	// level is the H.264 level_idc the offer states (0 for VP8).
	level int
	// fb are the a=rtcp-fb values to answer ("nack pli", "ccm fir").
	fb  []string
	dir Direction
	// rtp and rtcp: where the party takes its video (see remote).
	rtp, rtcp netip.AddrPort
	secure    bool
	crypto    crypto
}

// levelMaxFS is H.264 Table A-1's MaxFS (macroblocks) by level_idc: the
// largest level listed that is not above a level gives its frame size.
var levelMaxFS = []struct{ idc, maxFS int }{
	{10, 99}, {11, 396}, {12, 396}, {13, 396}, {20, 396}, {21, 792}, {22, 1620},
	{30, 1620}, {31, 3600}, {32, 5120}, {40, 8192}, {41, 8192}, {42, 8704},
	{50, 22080}, {51, 36864}, {52, 36864}, {60, 139264}, {61, 139264}, {62, 139264},
}

// maxFSOfLevel is the MaxFS of level_idc idc (level 1b and anything
// below 1.0 count as 1.0).
func maxFSOfLevel(idc int) int {
	fs := levelMaxFS[0].maxFS
	for _, l := range levelMaxFS {
		if l.idc <= idc {
			fs = l.maxFS
		}
	}
	return fs
}

// defaultProfileLevelID is what an H.264 format without profile-level-id
// means (RFC 6184 section 8.1): baseline, level 1.0.
const defaultProfileLevelID = "42000a"

// answerLevel is the level Tessera answers: 3.1 (what its encoder states
// for pictures up to 1280x720 at 30 fps), or the offer's own when that is
// higher (the encoder then never exceeds it for a picture the offer's
// frame size allows), at most 5.1.
func answerLevel(offered int) int { return min(max(offered, 31), 51) }

// fmtpParams splits an a=fmtp value's parameters ("a=1;b=2") into a map
// with lower-case keys.
func fmtpParams(v string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(v, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if k != "" {
			m[strings.ToLower(k)] = strings.TrimSpace(val)
		}
	}
	return m
}

// parseVideo reads one video m-line; ok is false when it has no codec
// Tessera takes (H.264 in packetization mode 1 or 0, or VP8). keep, if
// set, is the codec an established session has; it alone (in the same
// packetization mode) is taken.
func parseVideo(sd *sdp.SessionDescription, md *sdp.MediaDescription, keep *VideoCodec) (v videoRemote, ok bool, err error) {
	rtpmaps := map[int]string{}
	fmtps := map[int]map[string]string{}
	fbs := map[string]map[string]bool{} // pt or "*" → values
	var imageattrs []string
	for _, a := range md.Attributes {
		switch a.Key {
		case "rtpmap", "fmtp":
			pt, rest, found := strings.Cut(a.Value, " ")
			n, perr := strconv.Atoi(pt)
			if !found || perr != nil || n < 0 || n > 127 {
				return v, false, fmt.Errorf("%w: a=%s:%s", ErrInvalidSDP, a.Key, a.Value)
			}
			if a.Key == "rtpmap" {
				rtpmaps[n] = strings.ToLower(strings.TrimSpace(rest))
			} else {
				fmtps[n] = fmtpParams(rest)
			}
		case "imageattr":
			imageattrs = append(imageattrs, a.Value)
		case "rtcp-fb":
			pt, rest, _ := strings.Cut(a.Value, " ")
			if fbs[pt] == nil {
				fbs[pt] = map[string]bool{}
			}
			fbs[pt][strings.ToLower(strings.Join(strings.Fields(rest), " "))] = true
		}
	}
	// The first format Tessera takes wins, except that H.264 in single
	// NAL unit mode is taken only if nothing else is.
	var fallback *videoRemote
	for _, f := range md.MediaName.Formats {
		n, perr := strconv.Atoi(f)
		if perr != nil || n < 0 || n > 127 {
			return v, false, fmt.Errorf("%w: payload type %q", ErrInvalidSDP, f)
		}
		if n < 96 {
			continue
		}
		c, good, ferr := videoFormat(uint8(n), rtpmaps[n], fmtps[n])
		if ferr != nil {
			return v, false, ferr
		}
		if !good || (keep != nil && (keep.Name != c.codec.Name || keep.Mode != c.codec.Mode)) {
			continue
		}
		for _, a := range imageattrs {
			if px, found := imageattrRecvPixels(a, c.codec.PT); found && (c.codec.ImageMax == 0 || px < c.codec.ImageMax) {
				c.codec.ImageMax = px
			}
		}
		for _, want := range []string{"nack pli", "ccm fir"} {
			if fbs[f][want] || fbs["*"][want] || len(fbs) == 0 {
				c.fb = append(c.fb, want)
			}
		}
		if c.codec.Name == endpoint.CodecH264 && c.codec.Mode == 0 {
			if fallback == nil {
				fallback = &c
			}
			continue
		}
		v, ok = c, true
		break
	}
	if !ok && fallback != nil {
		v, ok = *fallback, true
	}
	if !ok {
		return videoRemote{}, false, nil
	}
	v.dir = direction(md.Attributes)
	if d := direction(sd.Attributes); v.dir == SendRecv && d != SendRecv {
		v.dir = d
	}
	if v.rtp, v.rtcp, err = addresses(sd, md); err != nil {
		return v, false, err
	}
	if isSAVP(md.MediaName.Protos) {
		c, found, cerr := parseCrypto(md)
		if !found {
			return v, false, cerr
		}
		v.secure, v.crypto = true, c
	}
	return v, true, nil
}

// videoAnswer is the answer's video m-line: the chosen codec with what
// Tessera sends (H.264 constrained baseline in packetization mode 1; VP8)
// and the keyframe requests it takes.
func videoAnswer(v videoRemote, port int, key []byte) *sdp.MediaDescription {
	pt := strconv.Itoa(int(v.codec.PT))
	var attrs []sdp.Attribute
	if v.codec.Name == endpoint.CodecH264 {
		attrs = append(attrs, sdp.NewAttribute("rtpmap", pt+" H264/90000"),
			sdp.NewAttribute("fmtp", fmt.Sprintf("%s profile-level-id=42e0%02x;packetization-mode=%d", pt, answerLevel(v.level), v.codec.Mode)))
	} else {
		attrs = append(attrs, sdp.NewAttribute("rtpmap", pt+" VP8/90000"))
	}
	for _, fb := range v.fb {
		attrs = append(attrs, sdp.NewAttribute("rtcp-fb", pt+" "+fb))
	}
	attrs = append(attrs, sdp.NewPropertyAttribute(v.dir.mirror().String()))
	proto := "AVP"
	if v.secure {
		proto = "SAVP"
		attrs = append(attrs, cryptoAttr(v.crypto, key))
	}
	return &sdp.MediaDescription{
		MediaName: sdp.MediaName{Media: "video", Port: sdp.RangedPort{Value: port},
			Protos: []string{"RTP", proto}, Formats: []string{pt}},
		Attributes: attrs,
	}
}

// videoFormat reads one dynamic payload type of a video m-line: its
// codec, if Tessera takes it, with its frame size limits (the H.264
// level's, or max-fs).
func videoFormat(pt uint8, rtpmap string, params map[string]string) (v videoRemote, ok bool, err error) {
	switch rtpmap {
	case "h264/90000":
		// RFC 6184 section 8.1: no packetization-mode means mode 0.
		// Interleaved mode (2) is not sent.
		mode := 0
		switch params["packetization-mode"] {
		case "", "0":
		case "1":
			mode = 1
		default:
			return v, false, nil
		}
		pli := params["profile-level-id"]
		if pli == "" {
			pli = defaultProfileLevelID
		}
		b, herr := hex.DecodeString(pli)
		if herr != nil || len(b) != 3 {
			return v, false, fmt.Errorf("%w: profile-level-id %q", ErrInvalidSDP, pli)
		}
		v.level = int(b[2])
		v.codec = VideoCodec{Name: endpoint.CodecH264, PT: pt, MaxFS: maxFSOfLevel(v.level), Mode: mode}
	case "vp8/90000":
		v.codec = VideoCodec{Name: endpoint.CodecVP8, PT: pt}
	default:
		return v, false, nil
	}
	if fs, perr := strconv.Atoi(params["max-fs"]); perr == nil && fs > 0 {
		v.codec.MaxFS = fs // an explicit max-fs wins over the level's
	}
	return v, true, nil
}
