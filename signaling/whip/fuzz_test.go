package whip

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Whatever a client POSTs as its offer, to either endpoint, the answer is
// a session (201, then deleted) or a clear refusal (4xx, or 503 when the
// room cannot take it): never a crash or a 500, and no session is left
// behind.
func FuzzOffer(f *testing.F) {
	f.Add(true, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\na=fingerprint:sha-256 00:11\r\na=setup:actpass\r\na=mid:0\r\n")
	f.Add(false, "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\na=rtpmap:96 VP8/90000\r\n")
	f.Add(true, "")
	f.Add(false, "m=audio 0 RTP/AVP 0\r\n")
	f.Add(true, strings.Repeat("a=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n", 100))
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, publish bool, sdp string) {
		kind := "whep"
		if publish {
			kind = "whip"
		}
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/%s/%d", fx.http.URL, kind, fx.room.ID()), strings.NewReader(sdp))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/sdp")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusCreated:
			del, _ := http.NewRequest(http.MethodDelete, fx.http.URL+resp.Header.Get("Location"), nil)
			if r, err := http.DefaultClient.Do(del); err == nil {
				r.Body.Close()
			}
		case resp.StatusCode >= 400 && resp.StatusCode < 500, resp.StatusCode == http.StatusServiceUnavailable:
			if len(body) == 0 {
				t.Fatalf("%d without a reason", resp.StatusCode)
			}
		default:
			t.Fatalf("%s offer answered %d: %s", kind, resp.StatusCode, body)
		}
		if !eventually(2*time.Second, func() bool { return len(fx.names(t)) == 0 }) {
			t.Fatalf("participants left behind: %v", fx.names(t))
		}
	})
}
