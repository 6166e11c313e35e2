package plainrtp

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

func TestOfferAnswer(t *testing.T) {
	e := testEngine(t, Config{})
	video := "m=video 5006 RTP/AVP 96\r\na=rtpmap:96 H263-1998/90000"
	cases := []struct {
		name    string
		offer   string
		err     error
		codec   Codec
		dtmf    string // the answer's telephone-event rtpmap ("": none)
		ptime   time.Duration
		dir     Direction // the answer's
		refused []string  // media refused with port 0
	}{
		{name: "PCMU first", offer: sdpOffer(5004, "0 8 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"),
			codec: Codec{endpoint.CodecPCMU, 0, 8000}, dtmf: "101 telephone-event/8000", ptime: 20 * time.Millisecond, dir: SendRecv},
		{name: "PCMA first", offer: sdpOffer(5004, "8 0", "a=rtpmap:8 PCMA/8000", "a=rtpmap:0 PCMU/8000"),
			codec: Codec{endpoint.CodecPCMA, 8, 8000}, ptime: 20 * time.Millisecond, dir: SendRecv},
		{name: "unknown codec first", offer: sdpOffer(5004, "18 3 8", "a=rtpmap:18 G729/8000", "a=rtpmap:3 GSM/8000"),
			codec: Codec{endpoint.CodecPCMA, 8, 8000}, ptime: 20 * time.Millisecond, dir: SendRecv},
		{name: "G.722 first", offer: sdpOffer(5004, "9 0 8 101", "a=rtpmap:9 G722/8000", "a=rtpmap:101 telephone-event/8000", "a=ptime:40"),
			codec: Codec{endpoint.CodecG722, 9, 8000}, dtmf: "101 telephone-event/8000", ptime: 40 * time.Millisecond, dir: SendRecv},
		{name: "G.722 without rtpmap", offer: sdpOffer(5004, "18 9"),
			codec: Codec{endpoint.CodecG722, 9, 8000}, ptime: 20 * time.Millisecond, dir: SendRecv},
		{name: "G.722 after PCMU", offer: sdpOffer(5004, "0 9", "a=rtpmap:9 G722/8000"),
			codec: Codec{endpoint.CodecPCMU, 0, 8000}, ptime: 20 * time.Millisecond, dir: SendRecv},
		{name: "payload type 9 that is not G.722", offer: sdpOffer(5004, "9 8", "a=rtpmap:9 G7221/16000"),
			codec: Codec{endpoint.CodecPCMA, 8, 8000}, ptime: 20 * time.Millisecond, dir: SendRecv},
		{name: "Opus", offer: sdpOffer(5004, "109 0 110 101", "a=rtpmap:109 opus/48000/2", "a=rtpmap:110 telephone-event/48000",
			"a=rtpmap:101 telephone-event/8000", "a=ptime:40"),
			codec: Codec{endpoint.CodecOpus, 109, 48000}, dtmf: "110 telephone-event/48000", ptime: 20 * time.Millisecond, dir: SendRecv},
		{name: "Opus mono is not Opus", offer: sdpOffer(5004, "96 8", "a=rtpmap:96 opus/48000"),
			codec: Codec{endpoint.CodecPCMA, 8, 8000}, ptime: 20 * time.Millisecond, dir: SendRecv},
		{name: "telephone-event only at another clock", offer: sdpOffer(5004, "0 101", "a=rtpmap:101 telephone-event/48000"),
			codec: Codec{endpoint.CodecPCMU, 0, 8000}, dtmf: "101 telephone-event/48000", ptime: 20 * time.Millisecond, dir: SendRecv},
		{name: "ptime 40", offer: sdpOffer(5004, "0", "a=ptime:40"),
			codec: Codec{endpoint.CodecPCMU, 0, 8000}, ptime: 40 * time.Millisecond, dir: SendRecv},
		{name: "ptime 30 rounds down", offer: sdpOffer(5004, "0", "a=ptime:30"),
			codec: Codec{endpoint.CodecPCMU, 0, 8000}, ptime: 20 * time.Millisecond, dir: SendRecv},
		{name: "ptime 10 rounds up", offer: sdpOffer(5004, "0", "a=ptime:10"),
			codec: Codec{endpoint.CodecPCMU, 0, 8000}, ptime: 20 * time.Millisecond, dir: SendRecv},
		{name: "CN accepted", offer: sdpOffer(5004, "0 13", "a=rtpmap:13 CN/8000"),
			codec: Codec{endpoint.CodecPCMU, 0, 8000}, ptime: 20 * time.Millisecond, dir: SendRecv},
		{name: "video refused", offer: sdpOffer(5004, "0") + video + "\r\n",
			codec: Codec{endpoint.CodecPCMU, 0, 8000}, ptime: 20 * time.Millisecond, dir: SendRecv, refused: []string{"video"}},
		{name: "SRTP audio refused, plain audio taken", offer: sdpOffer(5004, "0") + "m=audio 5008 RTP/SAVP 0\r\n",
			codec: Codec{endpoint.CodecPCMU, 0, 8000}, ptime: 20 * time.Millisecond, dir: SendRecv, refused: []string{"audio"}},
		{name: "hold sendonly", offer: sdpOffer(5004, "0", "a=sendonly"),
			codec: Codec{endpoint.CodecPCMU, 0, 8000}, ptime: 20 * time.Millisecond, dir: RecvOnly},
		{name: "recvonly", offer: sdpOffer(5004, "0", "a=recvonly"),
			codec: Codec{endpoint.CodecPCMU, 0, 8000}, ptime: 20 * time.Millisecond, dir: SendOnly},
		{name: "inactive", offer: sdpOffer(5004, "0", "a=inactive"),
			codec: Codec{endpoint.CodecPCMU, 0, 8000}, ptime: 20 * time.Millisecond, dir: Inactive},
		{name: "nothing usable", offer: sdpOffer(5004, "3 18", "a=rtpmap:3 GSM/8000"), err: ErrNoMedia},
		{name: "audio refused by the offerer", offer: sdpOffer(0, "0"), err: ErrNoMedia},
		{name: "video only", offer: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" + video + "\r\n", err: ErrNoMedia},
		{name: "garbage", offer: "hello, I am not SDP", err: ErrInvalidSDP},
		{name: "bad payload type", offer: sdpOffer(5004, "0 x"), err: ErrInvalidSDP},
		{name: "host name", offer: strings.Replace(sdpOffer(5004, "0"), "c=IN IP4 127.0.0.1", "c=IN IP4 phone.example", 1), err: ErrInvalidSDP},
		{name: "no c=", offer: strings.Replace(sdpOffer(5004, "0"), "c=IN IP4 127.0.0.1\r\n", "", 1), err: ErrInvalidSDP},
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
			if got := s.Codec(); got != c.codec {
				t.Errorf("codec %+v, want %+v", got, c.codec)
			}
			checkAnswer(t, s, c.codec, c.dtmf, c.ptime, c.dir, c.refused)
		})
	}
	if total, used := e.Ports(); used != 0 || total != 20 {
		t.Errorf("ports %d of %d in use after every session closed", used, total)
	}
}

// checkAnswer parses a session's answer and checks its audio line and
// refused lines.
func checkAnswer(t *testing.T, s *Session, c Codec, dtmf string, ptime time.Duration, dir Direction, refused []string) {
	t.Helper()
	var ans sdp.SessionDescription
	if err := ans.UnmarshalString(s.Answer()); err != nil {
		t.Fatalf("answer does not parse: %v\n%s", err, s.Answer())
	}
	if ans.ConnectionInformation == nil || ans.ConnectionInformation.Address.Address != "127.0.0.1" || ans.Origin.UnicastAddress != "127.0.0.1" {
		t.Errorf("answer's c= or o= is not the SDP address:\n%s", s.Answer())
	}
	var audio *sdp.MediaDescription
	var gotRefused []string
	for _, md := range ans.MediaDescriptions {
		if md.MediaName.Port.Value == 0 {
			gotRefused = append(gotRefused, md.MediaName.Media)
			continue
		}
		if audio != nil {
			t.Fatalf("two media lines answered:\n%s", s.Answer())
		}
		audio = md
	}
	if strings.Join(gotRefused, ",") != strings.Join(refused, ",") {
		t.Errorf("refused %v, want %v", gotRefused, refused)
	}
	if audio == nil || audio.MediaName.Port.Value != s.Port() || strings.Join(audio.MediaName.Protos, "/") != "RTP/AVP" {
		t.Fatalf("no audio line on the session's port:\n%s", s.Answer())
	}
	if audio.MediaName.Formats[0] != itoa(int(c.PT)) {
		t.Errorf("first format %s, want %d", audio.MediaName.Formats[0], c.PT)
	}
	var maps []string
	for _, a := range audio.Attributes {
		if a.Key == "rtpmap" {
			maps = append(maps, a.Value)
		}
	}
	want := []string{c.rtpmap()}
	if dtmf != "" {
		want = append(want, dtmf)
		if v, _ := audio.Attribute("fmtp"); !strings.HasSuffix(v, " 0-15") {
			t.Errorf("telephone-event fmtp %q", v)
		}
	}
	if strings.Join(maps, "|") != strings.Join(want, "|") {
		t.Errorf("rtpmaps %q, want %q", maps, want)
	}
	if v, _ := audio.Attribute("ptime"); v != itoa(int(ptime.Milliseconds())) {
		t.Errorf("ptime %q, want %v", v, ptime)
	}
	if _, ok := audio.Attribute(dir.String()); !ok {
		t.Errorf("answer direction is not %s:\n%s", dir, s.Answer())
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
