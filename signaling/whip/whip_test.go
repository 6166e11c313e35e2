package whip

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room"
)

var (
	red  = codec.RGB(220, 30, 30)
	blue = codec.RGB(30, 40, 220)
)

// A pion WHIP publisher (sendonly audio and video, as OBS sends) joins
// the room under its name: a participant already there hears its tone and
// sees its tile; DELETE on its session takes it out.
func TestWHIPPublisherIsHeardAndSeenThenLeaves(t *testing.T) {
	f := newFixture(t)
	_, alice := f.participant(t, "alice", testpeer.Options{ToneHz: 440, Video: "vp8", VideoColor: red})

	pub, resp, body := f.client(t, "/whip/"+f.room.ID().String()+"?name=studio", secret,
		testpeer.Options{ToneHz: 990, Video: "h264", VideoColor: blue, SendOnly: true})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /whip: %d %q", resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/whip/"+f.room.ID().String()+"/") || len(loc) < len("/whip//")+32 {
		t.Errorf("Location %q", loc)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/sdp" {
		t.Errorf("Content-Type %q", ct)
	}
	if et := resp.Header.Get("ETag"); !strings.HasPrefix(et, `"`) {
		t.Errorf("ETag %q", et)
	}
	if l := resp.Header.Get("Link"); l != `<stun:127.0.0.1:3478>; rel="ice-server"` {
		t.Errorf("Link %q", l)
	}
	if !strings.Contains(body, "a=recvonly") || strings.Contains(body, "a=sendrecv") {
		t.Errorf("the answer to a sendonly offer is not recvonly:\n%s", body)
	}
	if err := pub.WaitConnected(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if names := f.names(t); !slices.Equal(names, []string{"alice", "studio"}) {
		t.Fatalf("participants %q, want alice and studio", names)
	}
	list, _ := f.room.Participants(ctxT(t))
	studio := list[1].ID

	if !eventually(10*time.Second, func() bool { return alice.Level(990, 500*time.Millisecond) >= 0.15 }) {
		t.Errorf("alice hears the publisher's tone at %.3f", alice.Level(990, 500*time.Millisecond))
	}
	if !f.showsTile(t, alice, studio, blue) {
		t.Error("alice never saw the publisher's blue tile")
	}
	if got := len(pub.Last(time.Second)); got != 0 {
		t.Errorf("the publisher was sent %d samples", got)
	}

	resp, body = f.do(t, http.MethodDelete, loc, "", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d %q", resp.StatusCode, body)
	}
	if !eventually(5*time.Second, func() bool { return slices.Equal(f.names(t), []string{"alice"}) }) {
		t.Errorf("after DELETE the room holds %q", f.names(t))
	}
	if n := f.srv.Sessions(); n != 0 {
		t.Errorf("%d sessions after DELETE", n)
	}
	if resp, _ := f.do(t, http.MethodDelete, loc, "", "", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a second DELETE: %d, want 404", resp.StatusCode)
	}
}

// Refusals: each with its status, a text body, and nothing joined.
func TestRefusals(t *testing.T) {
	f := newFixture(t)
	id := f.room.ID().String()
	whepOnly, err := f.tokens.Mint(Grant{Room: f.room.ID(), Kind: KindWHEP}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	whipOnly, err := f.tokens.Mint(Grant{Room: f.room.ID(), Kind: KindWHIP}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.rooms.Create(room.Config{})
	if err != nil {
		t.Fatal(err)
	}
	publisher := testpeer.Options{ToneHz: 990, Video: "vp8", SendOnly: true}
	viewer := testpeer.Options{Video: "vp8", RecvOnly: true}
	for _, c := range []struct {
		name, path, token string
		opts              testpeer.Options
		want              int
	}{
		{"no token", "/whip/" + id, "", publisher, http.StatusUnauthorized},
		{"wrong token", "/whip/" + id, "guess", publisher, http.StatusUnauthorized},
		{"WHEP token for WHIP", "/whip/" + id, whepOnly.Token, publisher, http.StatusForbidden},
		{"WHIP token for WHEP", "/whep/" + id, whipOnly.Token, viewer, http.StatusForbidden},
		{"token of another room", "/whip/" + other.ID().String(), whipOnly.Token, publisher, http.StatusForbidden},
		{"no such room", "/whip/4242", secret, publisher, http.StatusNotFound},
		{"WHIP offer that sends nothing", "/whip/" + id, secret, viewer, http.StatusUnprocessableEntity},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, resp, body := f.client(t, c.path, c.token, c.opts)
			if resp.StatusCode != c.want || strings.TrimSpace(body) == "" {
				t.Errorf("%d %q, want %d with a text body", resp.StatusCode, body, c.want)
			}
			if c.want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Error("no CORS header on the refusal")
			}
		})
	}
	if resp, body := f.do(t, http.MethodPost, "/whip/"+id, secret, "text/plain", "v=0"); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d %q, want 415", resp.StatusCode, body)
	}
	if resp, body := f.do(t, http.MethodPost, "/whip/"+id, secret, "application/sdp", "not sdp"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("garbage SDP: %d %q, want 400", resp.StatusCode, body)
	}
	if names := f.names(t); len(names) != 0 {
		t.Errorf("refused requests left participants: %q", names)
	}
	if n := f.rooms.Participants(); n != 0 {
		t.Errorf("the server counts %d participants", n)
	}
	// The wrong token counted: two more lock the address out (3 per
	// window), and then even the right secret is not compared.
	for range 2 {
		f.do(t, http.MethodPost, "/whip/"+id, "guess", "application/sdp", "v=0")
	}
	if resp, body := f.do(t, http.MethodPost, "/whip/"+id, secret, "application/sdp", "v=0"); resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(body, "too many") {
		t.Errorf("after three wrong tokens: %d %q, want 401 locked out", resp.StatusCode, body)
	}
}

// OPTIONS answers a browser's CORS preflight.
func TestPreflight(t *testing.T) {
	f := newFixture(t)
	resp, _ := f.do(t, http.MethodOptions, "/whep/"+f.room.ID().String(), "", "", "")
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(h.Get("Access-Control-Expose-Headers"), "Location") ||
		!strings.Contains(h.Get("Access-Control-Expose-Headers"), "ETag") ||
		!strings.Contains(h.Get("Access-Control-Expose-Headers"), "Link") || h.Get("Accept-Post") != "application/sdp" {
		t.Errorf("preflight: %d %v", resp.StatusCode, h)
	}
	resp, _ = f.do(t, http.MethodOptions, "/whep/"+f.room.ID().String()+"/abc", "", "", "")
	if m := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "DELETE") || !strings.Contains(m, "PATCH") {
		t.Errorf("session preflight methods %q", m)
	}
}
