package plainrtp

import (
	"errors"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

// FuzzSDP feeds arbitrary offers to an engine, and then as a re-offer to
// a running session. Nothing may panic; an offer is either refused with
// one of the package's SDP errors or answered with an SDP that parses
// and has one m-line per offered one; every port pair is back after
// Close.
func FuzzSDP(f *testing.F) {
	f.Add(sdpOffer(5004, "0 8 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a=ptime:20"))
	f.Add(sdpOffer(5004, "8", "a=sendonly"))
	f.Add(sdpOffer(5004, "111 0", "a=rtpmap:111 opus/48000/2", "a=rtcp:5009 IN IP4 127.0.0.1"))
	f.Add(sdpOffer(5004, "0", "a=ptime:40") + "m=video 5006 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=42e01f;packetization-mode=1\r\n")
	f.Add(strings.Replace(sdpOffer(5004, "0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"), "RTP/AVP", "RTP/SAVP", 1))
	f.Add("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n")
	video := func(lines ...string) string {
		return sdpOffer(5004, "0") + "m=video 5006 RTP/AVP 96 97\r\na=rtpmap:96 H264/90000\r\na=rtpmap:97 VP8/90000\r\n" +
			strings.Join(lines, "\r\n") + "\r\n"
	}
	f.Add(video("a=fmtp:96 profile-level-id=42e01f", "a=imageattr:96 send [x=1280,y=720] recv [x=[176:16:352],y=[144:144:288]] [x=320,y=240,q=0.5]"))
	f.Add(video("a=imageattr:* recv [x=[320,640],y=[180:360]]", "a=imageattr:97 recv *"))
	f.Add(video("a=imageattr:96 recv [x=[1:0:9],y=[", "a=imageattr:97 recv ]]x=,y=[99999999999999999999]"))
	f.Add("garbage")
	e := testEngine(f, Config{})
	base, err := e.Offer(sdpOffer(5004, "0"), SessionOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = base.Close() })
	sdpErr := func(err error) bool {
		return errors.Is(err, ErrInvalidSDP) || errors.Is(err, ErrNoMedia) || errors.Is(err, ErrAnswer)
	}
	f.Fuzz(func(t *testing.T, offer string) {
		_, usedBefore := e.Ports()
		s, err := e.Offer(offer, SessionOptions{})
		if err != nil {
			if !sdpErr(err) && !errors.Is(err, ErrNoPorts) {
				t.Fatalf("offer refused with %v, not an SDP error", err)
			}
		} else {
			var ans, off sdp.SessionDescription
			if err := ans.UnmarshalString(s.Answer()); err != nil {
				t.Fatalf("the answer does not parse: %v\n%s", err, s.Answer())
			}
			if err := off.UnmarshalString(offer); err != nil || len(ans.MediaDescriptions) != len(off.MediaDescriptions) {
				t.Fatalf("answer has %d m-lines for an offer of %d (%v)", len(ans.MediaDescriptions), len(off.MediaDescriptions), err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if _, used := e.Ports(); used != usedBefore {
			t.Fatalf("port pairs in use: %d before, %d after", usedBefore, used)
		}
		if ans, err := base.Update(offer); err != nil {
			if !sdpErr(err) {
				t.Fatalf("re-offer refused with %v, not an SDP error", err)
			}
		} else if ans == "" {
			t.Fatal("an accepted re-offer has an empty answer")
		}
	})
}
