package plainrtp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/endpoint"
	"github.com/tessera-mcu/tessera/room/plainrtp"
)

// A phone in PCMU re-offers G.722 only (a re-INVITE): the session
// answers G.722, the room reads the phone's microphone and sends its mix
// in G.722 from then on. The WebRTC participant hears the phone's new
// 5.5 kHz tone (which only a wideband codec carries), no longer its old
// one, and the phone hears the WebRTC participant decoded as G.722.
func TestReofferChangesCodec(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	webrtc := newWebRTC(t)
	pr := newPhoneRoom(t, room.Config{})
	r, engine := pr.r, pr.engine
	_, web := joinWebRTC(ctx, t, r, webrtc, testpeer.Options{ToneHz: 440})

	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	offer := func(version int, formats string, attrs ...string) string {
		lines := []string{"v=0", fmt.Sprintf("o=phone 1 %d IN IP4 127.0.0.1", version), "s=call", "c=IN IP4 127.0.0.1", "t=0 0",
			fmt.Sprintf("m=audio %d RTP/AVP %s 101", conn.LocalAddr().(*net.UDPAddr).Port, formats)}
		lines = append(lines, attrs...)
		return strings.Join(append(lines, "a=rtpmap:101 telephone-event/8000", "a=ptime:20", "a=sendrecv", ""), "\r\n")
	}
	call, err := engine.Offer(offer(1, "0 8"), plainrtp.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = call.Close() })
	joined, _, err := r.Join(ctx, room.JoinRequest{Display: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	if err := call.Attach(ctx, r.Member(joined.ID)); err != nil {
		t.Fatal(err)
	}
	phone := startRoomPhone(t, conn, call, pcmuPhone(t), 660)

	const window = time.Second
	hears := func(what string, heard, gone float64) {
		t.Helper()
		var last error
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond)
			last = nil
			if lvl := web.Level(heard, window); lvl < 0.1 {
				last = fmt.Errorf("%s: the WebRTC participant hears the phone's %v Hz at %.3f", what, heard, lvl)
			}
			if gone != 0 {
				if lvl := web.Level(gone, window); lvl > 0.01 {
					last = errors.Join(last, fmt.Errorf("%s: the WebRTC participant still hears %v Hz at %.3f", what, gone, lvl))
				}
			}
			if lvl := phone.level(440); lvl < 0.1 {
				last = errors.Join(last, fmt.Errorf("%s: the phone hears the WebRTC participant at %.3f", what, lvl))
			}
			if last == nil {
				break
			}
		}
		if last != nil {
			t.Fatal(last)
		}
		t.Logf("%s: web hears the phone at %.3f; the phone hears web at %.3f", what, web.Level(heard, window), phone.level(440))
	}
	hears("PCMU", 660, 0)

	ans, err := call.Update(offer(2, "9", "a=rtpmap:9 G722/8000"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ans, "m=audio ") || !strings.Contains(ans, "a=rtpmap:9 G722/8000") || call.Codec().Name != endpoint.CodecG722 {
		t.Fatalf("the answer to a G.722 re-offer picks %+v:\n%s", call.Codec(), ans)
	}
	phone.switchTo(g722Phone(t), 5500)
	hears("G.722", 5500, 660)
	phone.mu.Lock()
	if phone.pts[9] == 0 {
		t.Errorf("the phone received payload types %v, none G.722", phone.pts)
	}
	phone.mu.Unlock()
}
