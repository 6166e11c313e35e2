package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tessera-mcu/tessera/room"
)

// phone is a SIP phone made with sipgo: it listens on loopback UDP for
// the requests Tessera sends it (a BYE).
type phone struct {
	ua     *sipgo.UserAgent
	client *sipgo.Client
	dialog *sipgo.DialogClientCache
	byes   chan struct{}
	done   chan struct{}
}

func newPhone(t *testing.T) *phone {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("TestPhone"))
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().(*net.UDPAddr)
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(addr.Port))
	if err != nil {
		t.Fatal(err)
	}
	p := &phone{ua: ua, client: client, byes: make(chan struct{}, 4), done: make(chan struct{})}
	p.dialog = sipgo.NewDialogClientCache(client, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "phone", Host: "127.0.0.1", Port: addr.Port}})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := p.dialog.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "No such call", nil))
			return
		}
		p.byes <- struct{}{}
	})
	go func() {
		defer close(p.done)
		_ = srv.ServeUDP(pc)
	}()
	t.Cleanup(func() {
		_ = ua.Close()
		_ = pc.Close()
		<-p.done
	})
	return p
}

const phoneOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 40000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"

// call dials user at the server and returns the dialog once answered, or
// the final response's code.
func (p *phone) call(t *testing.T, h *harness, user, display string) (*sipgo.DialogClientSession, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	to := sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: h.udp.Port}
	from := &sip.FromHeader{DisplayName: display, Address: sip.Uri{Scheme: "sip", User: "alice", Host: "127.0.0.1"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	d, err := p.dialog.Invite(ctx, to, []byte(phoneOffer), sip.NewHeader("Content-Type", "application/sdp"), from)
	if err != nil {
		t.Fatal(err)
	}
	err = d.WaitAnswer(ctx, sipgo.AnswerOptions{})
	var re *sipgo.ErrDialogResponse
	if errors.As(err, &re) {
		return nil, re.Res.StatusCode
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	return d, 200
}

// Kicking the participant, and then destroying the room of another call,
// makes Tessera hang up with a BYE; the server closing does too.
func TestServerHangsUp(t *testing.T) {
	h := newHarness(t, Config{}, room.Config{})
	p := newPhone(t)
	if _, code := p.call(t, h, testRoom.String(), "Alice"); code != 200 {
		t.Fatalf("call answered %d", code)
	}
	ps, err := h.room.Participants(context.Background())
	if err != nil || len(ps) != 1 || ps[0].Display != "Alice" {
		t.Fatalf("participants %+v (%v), want Alice", ps, err)
	}
	if err := h.room.Kick(context.Background(), ps[0].ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.byes:
	case <-time.After(5 * time.Second):
		t.Fatal("no BYE after the kick")
	}
	if !waitFor(2*time.Second, func() bool { return h.srv.Calls() == 0 }) {
		t.Fatalf("%d calls after the kick", h.srv.Calls())
	}

	// The room destroyed.
	if _, code := p.call(t, h, testRoom.String(), "Alice"); code != 200 {
		t.Fatalf("second call answered %d", code)
	}
	if err := h.mgr.Destroy(context.Background(), testRoom); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.byes:
	case <-time.After(5 * time.Second):
		t.Fatal("no BYE after the room was destroyed")
	}

	// The server closing.
	if _, err := h.mgr.Create(room.Config{ID: 77}); err != nil {
		t.Fatal(err)
	}
	if _, code := p.call(t, h, "77", ""); code != 200 {
		t.Fatalf("third call answered %d", code)
	}
	start := time.Now()
	if err := h.srv.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close took %v", time.Since(start))
	select {
	case <-p.byes:
	case <-time.After(time.Second):
		t.Fatal("no BYE when the server closed")
	}
}

// Refusals: no such room 404, a wrong PIN 403, the right PIN joins, a
// full room 486, a full server 480. A missing PIN is no refusal: the
// call is answered for the PIN prompt.
func TestServerRefusals(t *testing.T) {
	h := newHarness(t, Config{}, room.Config{Pin: "4321", MaxParticipants: 1})
	p := newPhone(t)
	for _, tc := range []struct {
		user string
		want int
	}{
		{"999", 404},
		{"conference", 404},
		{testRoom.String(), 200},
		{testRoom.String() + "*1111", 403},
		{testRoom.String() + "*4321", 200},
		{testRoom.String() + "*4321", 486},
	} {
		if _, code := p.call(t, h, tc.user, "Bob"); code != tc.want {
			t.Fatalf("call to %s: %d, want %d", tc.user, code, tc.want)
		}
	}
	if names := h.participants(); len(names) != 1 {
		t.Fatalf("participants %q, want only the one let in", names)
	}

	full := newHarnessWith(t, Config{}, room.Config{}, 0, room.Limits{MaxParticipants: 1})
	if _, _, err := full.room.Join(context.Background(), room.JoinRequest{Display: "first"}); err != nil {
		t.Fatal(err)
	}
	if _, code := p.call(t, full, testRoom.String(), "Bob"); code != 480 {
		t.Fatalf("call to a full server: %d, want 480", code)
	}
}

// When every media port pair is held by a call, the next INVITE gets 503
// and nothing joins; once a call ends its pair serves the next one.
func TestServerOutOfMediaPorts(t *testing.T) {
	lo := 42000 + 2*(os.Getpid()%400)
	h := newHarnessPorts(t, Config{}, room.Config{}, 0, room.Limits{}, lo, lo+1)
	p := newPhone(t)
	d, code := p.call(t, h, testRoom.String(), "First")
	if code != 200 {
		t.Fatalf("first call answered %d", code)
	}
	if _, code := p.call(t, h, testRoom.String(), "Second"); code != 503 {
		t.Fatalf("call with no media port free: %d, want 503", code)
	}
	if n := len(h.participants()); n != 1 {
		t.Fatalf("%d participants, want the first caller only", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	if !waitFor(5*time.Second, func() bool { return h.srv.Calls() == 0 }) {
		t.Fatal("the first call did not end")
	}
	if _, code := p.call(t, h, testRoom.String(), "Third"); code != 200 {
		t.Fatalf("call after a port pair came free: %d", code)
	}
}

// An address sending INVITEs faster than its bucket allows gets 503
// with Retry-After, and nothing joins.
func TestServerInviteFlood(t *testing.T) {
	h := newHarness(t, Config{InviteRate: 0.01, InviteBurst: 2}, room.Config{})
	p := newPhone(t)
	codes := ""
	for range 4 {
		d, code := p.call(t, h, "999", "")
		if d != nil {
			t.Fatal("a call to no room was answered")
		}
		codes += fmt.Sprint(code, " ")
	}
	if codes != "404 404 503 503 " {
		t.Fatalf("codes %q, want two 404s then 503s", codes)
	}
	if st := h.srv.Stats(); st.RateLimited != 2 {
		t.Fatalf("stats %+v, want 2 rate limited", st)
	}
}

// A call whose RTP never comes ends by the media's timeout, with a BYE
// from Tessera, and its participant leaves.
func TestServerHangsUpOnSilence(t *testing.T) {
	h := newHarnessWith(t, Config{}, room.Config{}, time.Second, room.Limits{})
	p := newPhone(t)
	if _, code := p.call(t, h, testRoom.String(), "Silent"); code != 200 {
		t.Fatalf("call answered %d", code)
	}
	if names := h.participants(); len(names) != 1 {
		t.Fatalf("participants %q during the call", names)
	}
	select {
	case <-p.byes:
	case <-time.After(10 * time.Second):
		t.Fatal("no BYE after the RTP timeout")
	}
	if !waitFor(2*time.Second, func() bool { return len(h.participants()) == 0 && h.srv.Calls() == 0 }) {
		t.Fatalf("participants %q, %d calls after the timeout", h.participants(), h.srv.Calls())
	}
}
