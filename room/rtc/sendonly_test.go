package rtc

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"

	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room"
)

// A publisher's offer (sendonly audio and video, as WHIP clients send)
// is answered recvonly on both m-lines, and the publisher is sent
// nothing back: no mix, no composite. Its voice still reaches the room.
func TestSendOnlyOfferIsAnsweredRecvOnly(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := NewEngine(EngineConfig{BindIP: "127.0.0.1", DisableTCP: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	m, err := room.NewManager(room.ManagerConfig{Workers: 1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = m.Close(context.Background())
		_ = e.Close()
	})
	r, err := m.Create(room.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	me, _, err := r.Join(ctx, room.JoinRequest{Display: "publisher"})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := testpeer.New(testpeer.Options{ToneHz: 440, Video: "h264", SendOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	offer, err := pub.Offer()
	if err != nil {
		t.Fatal(err)
	}
	ans, err := e.Offer(ctx, r.Member(me.ID), offer)
	if err != nil {
		t.Fatal(err)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(ans.SDP); err != nil {
		t.Fatal(err)
	}
	if len(sd.MediaDescriptions) != 2 {
		t.Fatalf("answer has %d m-lines, want 2:\n%s", len(sd.MediaDescriptions), ans.SDP)
	}
	for _, md := range sd.MediaDescriptions {
		if _, ok := md.Attribute("recvonly"); !ok {
			t.Errorf("%s m-line is not recvonly:\n%s", md.MediaName.Media, ans.SDP)
		}
		if _, ok := md.Attribute("ssrc"); ok {
			t.Errorf("%s m-line announces a stream to send", md.MediaName.Media)
		}
	}
	if err := pub.Accept(ans.SDP); err != nil {
		t.Fatal(err)
	}
	if err := pub.WaitConnected(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	// The room hears it: its tone makes it a talker.
	if !eventually(10*time.Second, func() bool {
		st, err := r.Stats(ctx)
		return err == nil && st.Talkers == 1
	}) {
		t.Fatal("the publisher never became a talker")
	}
	time.Sleep(time.Second)
	if got := len(pub.Last(time.Second)); got != 0 {
		t.Errorf("the publisher was sent %d samples of audio", got)
	}
	if f, _, _ := pub.VideoStats(); f != 0 {
		t.Errorf("the publisher was sent %d pictures", f)
	}
	if strings.Contains(ans.SDP, "a=sendrecv") {
		t.Errorf("answer has sendrecv:\n%s", ans.SDP)
	}
}
