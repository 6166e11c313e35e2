package plainrtp

import (
	"errors"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// videoLine is an m=video line on port 5006 with formats and attribute
// lines.
func videoLine(proto, formats string, attrs ...string) string {
	return strings.Join(append([]string{"m=video 5006 " + proto + " " + formats}, attrs...), "\r\n") + "\r\n"
}

const (
	testKey  = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
	testKey2 = "a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj"
)

func TestVideoOfferAnswer(t *testing.T) {
	e := testEngine(t, Config{})
	h264 := func(pt, fmtp string) []string {
		return []string{"a=rtpmap:" + pt + " H264/90000", "a=fmtp:" + pt + " " + fmtp}
	}
	cases := []struct {
		name  string
		offer string
		err   error
		// video is the codec answered (Name "": none); fmtp the answer's
		// fmtp value, fb its rtcp-fb values.
		video   VideoCodec
		fmtp    string
		fb      []string
		refused []string
		secure  bool
	}{
		{name: "H.264 mode 1 level 3.1",
			offer: sdpOffer(5004, "0") + videoLine("RTP/AVP", "97", append(h264("97", "profile-level-id=42e01f;packetization-mode=1"),
				"a=rtcp-fb:97 nack pli", "a=rtcp-fb:97 ccm fir")...),
			video: VideoCodec{Name: endpoint.CodecH264, PT: 97, MaxFS: 3600, Mode: 1}, fmtp: "97 profile-level-id=42e01f;packetization-mode=1",
			fb: []string{"97 nack pli", "97 ccm fir"}},
		{name: "H.264 level 1.2 is CIF",
			offer: sdpOffer(5004, "0") + videoLine("RTP/AVP", "99", h264("99", "packetization-mode=1;profile-level-id=42800c")...),
			video: VideoCodec{Name: endpoint.CodecH264, PT: 99, MaxFS: 396, Mode: 1}, fmtp: "99 profile-level-id=42e01f;packetization-mode=1",
			fb: []string{"99 nack pli", "99 ccm fir"}},
		{name: "explicit max-fs wins",
			offer: sdpOffer(5004, "0") + videoLine("RTP/AVP", "97", h264("97", "profile-level-id=42e01f; packetization-mode=1; max-fs=396")...),
			video: VideoCodec{Name: endpoint.CodecH264, PT: 97, MaxFS: 396, Mode: 1}, fmtp: "97 profile-level-id=42e01f;packetization-mode=1",
			fb: []string{"97 nack pli", "97 ccm fir"}},
		{name: "level 4.0 answered at 4.0",
			offer: sdpOffer(5004, "0") + videoLine("RTP/AVP", "97", append(h264("97", "profile-level-id=640028;packetization-mode=1"), "a=rtcp-fb:* ccm fir")...),
			video: VideoCodec{Name: endpoint.CodecH264, PT: 97, MaxFS: 8192, Mode: 1}, fmtp: "97 profile-level-id=42e028;packetization-mode=1",
			fb: []string{"97 ccm fir"}},
		{name: "no profile-level-id is level 1.0",
			offer: sdpOffer(5004, "0") + videoLine("RTP/AVP", "97", h264("97", "packetization-mode=1")...),
			video: VideoCodec{Name: endpoint.CodecH264, PT: 97, MaxFS: 99, Mode: 1}, fmtp: "97 profile-level-id=42e01f;packetization-mode=1",
			fb: []string{"97 nack pli", "97 ccm fir"}},
		{name: "mode 1 after mode 0",
			offer: sdpOffer(5004, "0") + videoLine("RTP/AVP", "96 97", append(h264("96", "profile-level-id=42e01f"),
				h264("97", "profile-level-id=42e01f;packetization-mode=1")...)...),
			video: VideoCodec{Name: endpoint.CodecH264, PT: 97, MaxFS: 3600, Mode: 1}, fmtp: "97 profile-level-id=42e01f;packetization-mode=1",
			fb: []string{"97 nack pli", "97 ccm fir"}},
		{name: "VP8 first in the offer's order",
			offer: sdpOffer(5004, "0") + videoLine("RTP/AVP", "100 97", append([]string{"a=rtpmap:100 VP8/90000", "a=fmtp:100 max-fs=1620"},
				h264("97", "profile-level-id=42e01f;packetization-mode=1")...)...),
			video: VideoCodec{Name: endpoint.CodecVP8, PT: 100, MaxFS: 1620}, fb: []string{"100 nack pli", "100 ccm fir"}},
		{name: "mode 0 only is answered in mode 0",
			offer: sdpOffer(5004, "0") + videoLine("RTP/AVP", "96", h264("96", "profile-level-id=42e01f;packetization-mode=0")...),
			video: VideoCodec{Name: endpoint.CodecH264, PT: 96, MaxFS: 3600}, fmtp: "96 profile-level-id=42e01f;packetization-mode=0",
			fb: []string{"96 nack pli", "96 ccm fir"}},
		{name: "no packetization-mode is mode 0",
			offer: sdpOffer(5004, "0") + videoLine("RTP/AVP", "96", h264("96", "profile-level-id=42e01e")...),
			video: VideoCodec{Name: endpoint.CodecH264, PT: 96, MaxFS: 1620}, fmtp: "96 profile-level-id=42e01f;packetization-mode=0",
			fb: []string{"96 nack pli", "96 ccm fir"}},
		{name: "interleaved mode is refused",
			offer:   sdpOffer(5004, "0") + videoLine("RTP/AVP", "96", h264("96", "profile-level-id=42e01f;packetization-mode=2")...),
			refused: []string{"video"}},
		{name: "imageattr recv caps the picture",
			offer: sdpOffer(5004, "0") + videoLine("RTP/AVP", "97", append(h264("97", "profile-level-id=42e01f;packetization-mode=1"),
				"a=imageattr:97 send [x=1280,y=720] recv [x=[176:16:352],y=[144:144:288]] [x=320,y=240]")...),
			video: VideoCodec{Name: endpoint.CodecH264, PT: 97, MaxFS: 3600, ImageMax: 352 * 288, Mode: 1},
			fmtp:  "97 profile-level-id=42e01f;packetization-mode=1", fb: []string{"97 nack pli", "97 ccm fir"}},
		{name: "max-fs below imageattr wins",
			offer: sdpOffer(5004, "0") + videoLine("RTP/AVP", "97", append(h264("97", "profile-level-id=42e01f;packetization-mode=1;max-fs=99"),
				"a=imageattr:* recv [x=640,y=360]")...),
			video: VideoCodec{Name: endpoint.CodecH264, PT: 97, MaxFS: 99, ImageMax: 640 * 360, Mode: 1},
			fmtp:  "97 profile-level-id=42e01f;packetization-mode=1", fb: []string{"97 nack pli", "97 ccm fir"}},
		{name: "imageattr of another payload type is ignored",
			offer: sdpOffer(5004, "0") + videoLine("RTP/AVP", "100", "a=rtpmap:100 VP8/90000", "a=imageattr:101 recv [x=320,y=180]"),
			video: VideoCodec{Name: endpoint.CodecVP8, PT: 100}, fb: []string{"100 nack pli", "100 ccm fir"}},
		{name: "unknown video codec is refused",
			offer:   sdpOffer(5004, "0") + videoLine("RTP/AVP", "34 98", "a=rtpmap:34 H263/90000", "a=rtpmap:98 H265/90000"),
			refused: []string{"video"}},
		{name: "second video line taken, first refused",
			offer: sdpOffer(5004, "0") + videoLine("RTP/AVP", "34", "a=rtpmap:34 H263/90000") +
				videoLine("RTP/AVP", "100", "a=rtpmap:100 VP8/90000") + videoLine("RTP/AVP", "101", "a=rtpmap:101 VP8/90000"),
			video: VideoCodec{Name: endpoint.CodecVP8, PT: 100, MaxFS: 0}, fb: []string{"100 nack pli", "100 ccm fir"}, refused: []string{"video", "video"}},
		{name: "plain video beside SRTP audio is refused",
			offer: strings.Replace(sdpOffer(5004, "0", testKey), "RTP/AVP", "RTP/SAVP", 1) +
				videoLine("RTP/AVP", "100", "a=rtpmap:100 VP8/90000"),
			refused: []string{"video"}, secure: true},
		{name: "SRTP video keyed on its own",
			offer: strings.Replace(sdpOffer(5004, "0", testKey), "RTP/AVP", "RTP/SAVP", 1) +
				videoLine("RTP/SAVP", "100", "a=rtpmap:100 VP8/90000", testKey2),
			video: VideoCodec{Name: endpoint.CodecVP8, PT: 100, MaxFS: 0}, fb: []string{"100 nack pli", "100 ccm fir"}, secure: true},
		{name: "SRTP video without a key is refused",
			offer: strings.Replace(sdpOffer(5004, "0", testKey), "RTP/AVP", "RTP/SAVP", 1) +
				videoLine("RTP/SAVP", "100", "a=rtpmap:100 VP8/90000"),
			refused: []string{"video"}, secure: true},
		{name: "bad profile-level-id",
			offer: sdpOffer(5004, "0") + videoLine("RTP/AVP", "97", h264("97", "profile-level-id=zz;packetization-mode=1")...),
			err:   ErrInvalidSDP},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := e.Offer(c.offer, SessionOptions{})
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var ans sdp.SessionDescription
			if err := ans.UnmarshalString(s.Answer()); err != nil {
				t.Fatalf("answer does not parse: %v\n%s", err, s.Answer())
			}
			var audio, video *sdp.MediaDescription
			var refused []string
			for _, md := range ans.MediaDescriptions {
				switch {
				case md.MediaName.Port.Value == 0:
					refused = append(refused, md.MediaName.Media)
				case md.MediaName.Media == "audio":
					audio = md
				case md.MediaName.Media == "video":
					video = md
				}
			}
			if strings.Join(refused, ",") != strings.Join(c.refused, ",") {
				t.Errorf("refused %v, want %v:\n%s", refused, c.refused, s.Answer())
			}
			if audio == nil {
				t.Fatalf("no audio answered:\n%s", s.Answer())
			}
			got, ok := s.Video()
			if c.video.Name == "" {
				if ok || video != nil || s.VideoPort() != 0 {
					t.Fatalf("video answered (%+v):\n%s", got, s.Answer())
				}
				return
			}
			if !ok || got != c.video || video == nil {
				t.Fatalf("video %+v (%v), want %+v:\n%s", got, ok, c.video, s.Answer())
			}
			if want := min(c.video.MaxFS*256, c.video.ImageMax); c.video.ImageMax == 0 && got.MaxPictureSize() != c.video.MaxFS*256 ||
				c.video.ImageMax != 0 && got.MaxPictureSize() != want {
				t.Errorf("max picture size %d", got.MaxPictureSize())
			}
			// Its own port pair: neither audio's RTP nor RTCP port.
			vp := video.MediaName.Port.Value
			if vp != s.VideoPort() || vp%2 != 0 || vp == s.Port() || vp == s.Port()+1 || vp+1 == s.Port() {
				t.Errorf("video port %d (session's %d), audio port %d", vp, s.VideoPort(), s.Port())
			}
			if strings.Join(video.MediaName.Formats, " ") != itoa(int(c.video.PT)) {
				t.Errorf("video formats %v", video.MediaName.Formats)
			}
			fmtp, _ := video.Attribute("fmtp")
			if fmtp != c.fmtp {
				t.Errorf("fmtp %q, want %q", fmtp, c.fmtp)
			}
			var fb []string
			for _, a := range video.Attributes {
				if a.Key == "rtcp-fb" {
					fb = append(fb, a.Value)
				}
			}
			if strings.Join(fb, "|") != strings.Join(c.fb, "|") {
				t.Errorf("rtcp-fb %q, want %q", fb, c.fb)
			}
			proto := "RTP/AVP"
			if c.secure {
				proto = "RTP/SAVP"
			}
			for _, md := range []*sdp.MediaDescription{audio, video} {
				if p := strings.Join(md.MediaName.Protos, "/"); p != proto {
					t.Errorf("%s answered over %s, want %s", md.MediaName.Media, p, proto)
				}
			}
			if c.secure {
				ak, _ := audio.Attribute("crypto")
				vk, _ := video.Attribute("crypto")
				if !strings.HasPrefix(vk, "3 AES_CM_128_HMAC_SHA1_32 inline:") || ak == "" ||
					strings.Fields(ak)[2] == strings.Fields(vk)[2] {
					t.Errorf("audio key %q, video key %q: want one of each, not the same", ak, vk)
				}
			}
		})
	}
	if total, used := e.Ports(); used != 0 || total != 20 {
		t.Errorf("ports %d of %d in use after every session closed", used, total)
	}
}
