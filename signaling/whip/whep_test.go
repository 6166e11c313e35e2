package whip

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// A WHEP viewer with a minted token gets the composite at the top tier
// and the full mix (both talkers), and nobody sees it; DELETE releases
// its seat.
func TestWHEPViewerGetsCompositeAndFullMix(t *testing.T) {
	f := newFixture(t)
	aliceID, _ := f.participant(t, "alice", testpeer.Options{ToneHz: 440, Video: "vp8", VideoColor: red})
	_, _ = f.participant(t, "bob", testpeer.Options{ToneHz: 990, Video: "vp8", VideoColor: blue})
	tok, err := f.tokens.Mint(Grant{Room: f.room.ID(), Kind: KindWHEP, Name: "lobby"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	v, resp, body := f.client(t, "/whep/"+f.room.ID().String(), tok.Token, testpeer.Options{Video: "vp8", RecvOnly: true})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /whep: %d %q", resp.StatusCode, body)
	}
	if err := v.WaitConnected(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !eventually(10*time.Second, func() bool {
		return v.Level(440, 500*time.Millisecond) >= 0.15 && v.Level(990, 500*time.Millisecond) >= 0.15
	}) {
		t.Errorf("the viewer hears 440 Hz at %.3f and 990 Hz at %.3f, want both",
			v.Level(440, 500*time.Millisecond), v.Level(990, 500*time.Millisecond))
	}
	if !f.showsTile(t, v, aliceID, red) {
		t.Error("the viewer never saw alice's tile")
	}
	if fr := v.VideoFrame(); fr == nil || fr.Width != 1280 || fr.Height != 720 {
		t.Errorf("composite %v, want 1280x720", fr)
	}
	if names := f.names(t); !slices.Equal(names, []string{"alice", "bob"}) {
		t.Errorf("participants %q: the viewer is listed", names)
	}
	if tiles, _ := f.room.Tiles(ctxT(t)); len(tiles) != 2 {
		t.Errorf("%d tiles, want 2", len(tiles))
	}
	if st, _ := f.room.Stats(ctxT(t)); st.Viewers != 1 || f.rooms.Participants() != 3 {
		t.Errorf("%d viewers, server %d participants; want 1 and 3", st.Viewers, f.rooms.Participants())
	}

	resp, _ = f.do(t, http.MethodDelete, resp.Header.Get("Location"), "", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if !eventually(5*time.Second, func() bool { return f.rooms.Participants() == 2 }) {
		t.Errorf("after DELETE the server counts %d participants", f.rooms.Participants())
	}
}

// A client that trickles its candidates (an offer without any, then
// PATCH) connects; a stale ETag and an ICE restart are refused.
func TestTrickle(t *testing.T) {
	f := newFixture(t)
	p, err := testpeer.New(testpeer.Options{ToneHz: 990, Video: "vp8", SendOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	offer, cands, err := p.OfferTrickle()
	if err != nil {
		t.Fatal(err)
	}
	resp, body := f.do(t, http.MethodPost, "/whip/"+f.room.ID().String(), secret, "application/sdp", offer)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %q", resp.StatusCode, body)
	}
	loc, etag := resp.Header.Get("Location"), resp.Header.Get("ETag")
	if err := p.Accept(body); err != nil {
		t.Fatal(err)
	}
	ufrag := offerUfrag(offer)
	var frag strings.Builder
	frag.WriteString("a=ice-ufrag:" + ufrag + "\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n")
	n := 0
	for c := range cands {
		frag.WriteString("a=" + c.Candidate + "\r\n")
		n++
	}
	frag.WriteString("a=end-of-candidates\r\n")
	if n == 0 {
		t.Fatal("the client gathered no candidates")
	}

	patch := func(ifMatch, body string) int {
		req, _ := http.NewRequestWithContext(ctxT(t), http.MethodPatch, f.http.URL+loc, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/trickle-ice-sdpfrag")
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := patch(`"stale"`, frag.String()); code != http.StatusPreconditionFailed {
		t.Errorf("PATCH with a stale ETag: %d, want 412", code)
	}
	restart := "a=ice-ufrag:newufrag\r\na=ice-pwd:newpasswordnewpassword12\r\n"
	if code := patch("*", restart); code != http.StatusUnprocessableEntity {
		t.Errorf("ICE restart: %d, want 422", code)
	}
	if p.PC.ICEConnectionState() == webrtc.ICEConnectionStateConnected {
		t.Log("connected before the trickle (the server's checks reached the client first)")
	}
	// Candidates reach the ICE agent: one it cannot parse is refused.
	if code := patch(etag, "a=mid:0\r\na=candidate:garbage\r\n"); code != http.StatusBadRequest {
		t.Errorf("PATCH with a broken candidate: %d, want 400", code)
	}
	if code := patch(etag, frag.String()); code != http.StatusNoContent {
		t.Fatalf("PATCH: %d, want 204", code)
	}
	if err := p.WaitConnected(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !eventually(10*time.Second, func() bool {
		st, err := f.room.Stats(ctxT(t))
		return err == nil && st.Talkers == 1
	}) {
		t.Error("the trickling publisher is never heard")
	}
}

// The session ends by itself when its PeerConnection closes (the room
// destroyed here), and when the server closes.
func TestSessionEndsWithConnection(t *testing.T) {
	f := newFixture(t)
	pub, resp, body := f.client(t, "/whip/"+f.room.ID().String(), secret, testpeer.Options{ToneHz: 990, SendOnly: true})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %q", resp.StatusCode, body)
	}
	if err := pub.WaitConnected(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := f.rooms.Destroy(ctxT(t), f.room.ID()); err != nil {
		t.Fatal(err)
	}
	if !eventually(5*time.Second, func() bool { return f.srv.Sessions() == 0 }) {
		t.Errorf("%d sessions after the room ended", f.srv.Sessions())
	}

	r2, err := f.rooms.Create(f.room.Config())
	if err != nil {
		t.Fatal(err)
	}
	f.room = r2
	pub2, resp, body := f.client(t, "/whip/"+r2.ID().String(), secret, testpeer.Options{ToneHz: 990, SendOnly: true})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %q", resp.StatusCode, body)
	}
	if err := pub2.WaitConnected(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	if n := f.rooms.Participants(); n != 0 || f.srv.Sessions() != 0 {
		t.Errorf("after Close: %d participants, %d sessions", n, f.srv.Sessions())
	}
	if _, resp, _ := f.client(t, "/whip/"+r2.ID().String(), secret, testpeer.Options{ToneHz: 990, SendOnly: true}); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("POST after Close: %d, want 503", resp.StatusCode)
	}
}
