package sip

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/internal/baresip"
	"github.com/tessera-mcu/tessera/internal/e2etool"
	"github.com/tessera-mcu/tessera/room"
)

// callLog collects a room's call events.
type callLog struct {
	mu      sync.Mutex
	events  []room.Event
	changed chan struct{}
	done    chan struct{}
}

func watchCalls(t *testing.T, r *room.Room) *callLog {
	t.Helper()
	sub := r.Subscribe(256)
	l := &callLog{changed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for ev := range sub.C {
			if ev.Kind != room.EventCall {
				continue
			}
			l.mu.Lock()
			l.events = append(l.events, ev)
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() { sub.Close(); <-l.done })
	return l
}

// states are the states call id went through so far.
func (l *callLog) states(id room.CallID) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s []string
	for _, ev := range l.events {
		if ev.Call.ID == id {
			s = append(s, ev.State)
		}
	}
	return s
}

// wait waits for call id to reach state and returns that event.
func (l *callLog) wait(t *testing.T, id room.CallID, state string, d time.Duration) room.Event {
	t.Helper()
	deadline := time.After(d)
	for {
		l.mu.Lock()
		for _, ev := range l.events {
			if ev.Call.ID == id && ev.State == state {
				l.mu.Unlock()
				return ev
			}
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("call %d never %s (states %v)", id, state, l.states(id))
		}
	}
}

func startPhone(t *testing.T, o baresip.Options) *baresip.UA {
	t.Helper()
	e2etool.Need(t, "baresip")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ua, err := baresip.Start(ctx, t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ua.Close)
	return ua
}

// heard is how loud freq and other are in the last two seconds a
// softphone heard.
func heard(t *testing.T, ua *baresip.UA, freq, other float64) (float64, float64) {
	t.Helper()
	pcm, rate, err := ua.Received()
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) < 2*rate {
		t.Fatalf("the softphone heard %d samples at %d Hz, want two seconds", len(pcm), rate)
	}
	last := pcm[len(pcm)-2*rate:]
	return codectest.Goertzel(last, rate, freq), codectest.Goertzel(last, rate, other)
}

// Tessera calls two softphones (auto-answer, tones 660 and 880 Hz) into
// one room: each call rings then is answered, with the callee in the
// room under its URI's user; each softphone hears the other's tone
// through the room and not its own. One hangs up: its call is hung up
// and it leaves; the other's call goes on until the server closes.
func TestDialOut(t *testing.T) {
	h := newHarness(t, Config{}, room.Config{})
	calls := watchCalls(t, h.room)
	alice := startPhone(t, baresip.Options{AutoAnswer: true, ToneHz: 660, User: "alice"})
	bob := startPhone(t, baresip.Options{AutoAnswer: true, ToneHz: 880, User: "bob"})

	a, err := h.srv.Dial(t.Context(), h.room, "sip:alice@"+alice.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.URI != "sip:alice@"+alice.SIPAddr || a.Participant != 0 {
		t.Errorf("call info %+v", a)
	}
	b, err := h.srv.Dial(t.Context(), h.room, "sip:bob@"+bob.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	ansA := calls.wait(t, a.ID, room.CallAnswered, 15*time.Second)
	ansB := calls.wait(t, b.ID, room.CallAnswered, 15*time.Second)
	for _, c := range []room.CallInfo{a, b} {
		// An answering softphone may or may not send 180 first.
		if got := strings.Join(calls.states(c.ID), " "); got != "dialing ringing answered" && got != "dialing answered" {
			t.Errorf("call %s went %q, want dialing (ringing) answered", c.URI, got)
		}
	}
	if ansA.Call.Participant == 0 || ansB.Call.Participant == 0 {
		t.Errorf("answered events without the participant: %+v, %+v", ansA.Call, ansB.Call)
	}
	if got := strings.Join(h.participants(), ","); got != "alice,bob" && got != "bob,alice" {
		t.Errorf("participants %q, want alice and bob", got)
	}
	if h.srv.Calls() != 2 {
		t.Errorf("%d calls up, want 2", h.srv.Calls())
	}
	time.Sleep(3500 * time.Millisecond)
	if other, own := heard(t, alice, 880, 660); other < 0.05 || own > other/5 {
		t.Errorf("alice hears bob (880 Hz) at %.3f and herself (660 Hz) at %.3f", other, own)
	}
	if other, own := heard(t, bob, 660, 880); other < 0.05 || own > other/5 {
		t.Errorf("bob hears alice (660 Hz) at %.3f and himself (880 Hz) at %.3f", other, own)
	}

	if err := alice.Hangup(); err != nil {
		t.Fatal(err)
	}
	hung := calls.wait(t, a.ID, room.CallHungUp, 10*time.Second)
	if hung.Reason != "hung up" || hung.Call.Participant != ansA.Call.Participant {
		t.Errorf("hung-up event %+v reason %q", hung.Call, hung.Reason)
	}
	if !waitFor(5*time.Second, func() bool { return strings.Join(h.participants(), ",") == "bob" }) {
		t.Errorf("participants %v after alice hung up, want bob", h.participants())
	}
	if err := h.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if ev := calls.wait(t, b.ID, room.CallHungUp, 10*time.Second); ev.Reason != reasonClosing {
		t.Errorf("bob's call ended for %q, want %q", ev.Reason, reasonClosing)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := bob.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
		t.Errorf("bob's softphone never saw the BYE: %v", err)
	}
}

// A softphone that declines (486) makes the call busy; one that does not
// answer within DialTimeout gets a CANCEL and the call fails for no
// answer. Nobody joins the room either way.
func TestDialOutBusyAndNoAnswer(t *testing.T) {
	h := newHarness(t, Config{DialTimeout: 2 * time.Second}, room.Config{})
	calls := watchCalls(t, h.room)
	carol := startPhone(t, baresip.Options{User: "carol"})

	busy, err := h.srv.Dial(t.Context(), h.room, "sip:carol@"+carol.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	calls.wait(t, busy.ID, room.CallRinging, 10*time.Second)
	if err := carol.Hangup(); err != nil {
		t.Fatal(err)
	}
	ev := calls.wait(t, busy.ID, room.CallBusy, 10*time.Second)
	if !strings.HasPrefix(ev.Reason, "486") {
		t.Errorf("busy for %q, want 486", ev.Reason)
	}

	start := time.Now()
	quiet, err := h.srv.Dial(t.Context(), h.room, "sip:carol@"+carol.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	ev = calls.wait(t, quiet.ID, room.CallFailed, 15*time.Second)
	if ev.Reason != reasonNoAnswer || time.Since(start) < 2*time.Second {
		t.Errorf("failed for %q after %v, want %q after the 2 s timeout", ev.Reason, time.Since(start), reasonNoAnswer)
	}
	if got := strings.Join(calls.states(quiet.ID), " "); got != "dialing ringing failed" {
		t.Errorf("the unanswered call went %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	closed := 0
	for closed < 2 {
		if _, err := carol.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
			t.Fatalf("the softphone's calls did not both close (CANCEL): %v", err)
		}
		closed = 0
		for _, e := range carol.Events() {
			if e.Type == "CALL_CLOSED" {
				closed++
			}
		}
		if closed < 2 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if n := len(h.participants()); n != 0 {
		t.Errorf("%d participants, want none", n)
	}
}

// The room hangs up its dial-out calls: one still ringing gets a CANCEL,
// an answered one a BYE (its participant leaves); both end as hung up
// "by the room". A call that is over, or another room's, is not found.
func TestDialOutHangup(t *testing.T) {
	h := newHarness(t, Config{DialTimeout: 20 * time.Second}, room.Config{})
	calls := watchCalls(t, h.room)
	dave := startPhone(t, baresip.Options{User: "dave"})
	erin := startPhone(t, baresip.Options{AutoAnswer: true, ToneHz: 660, User: "erin"})
	closedCalls := func(ua *baresip.UA) int {
		n := 0
		for _, e := range ua.Events() {
			if e.Type == "CALL_CLOSED" {
				n++
			}
		}
		return n
	}

	ringing, err := h.srv.Dial(t.Context(), h.room, "sip:dave@"+dave.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	calls.wait(t, ringing.ID, room.CallRinging, 10*time.Second)
	if err := h.srv.Hangup(t.Context(), h.room, ringing.ID); err != nil {
		t.Fatal(err)
	}
	ev := calls.wait(t, ringing.ID, room.CallHungUp, 10*time.Second)
	if ev.Reason != reasonHungUp {
		t.Errorf("the ringing call ended for %q, want %q", ev.Reason, reasonHungUp)
	}
	if got := strings.Join(calls.states(ringing.ID), " "); got != "dialing ringing hungup" {
		t.Errorf("the ringing call went %q", got)
	}
	if !waitFor(5*time.Second, func() bool { return closedCalls(dave) == 1 }) {
		t.Errorf("the ringing softphone's call did not close (CANCEL): %v", dave.Events())
	}

	answered, err := h.srv.Dial(t.Context(), h.room, "sip:erin@"+erin.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	ans := calls.wait(t, answered.ID, room.CallAnswered, 15*time.Second)
	other, err := h.mgr.Create(room.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Hangup(t.Context(), other, answered.ID); !errors.Is(err, room.ErrCallNotFound) {
		t.Errorf("another room's hangup of the call: %v, want ErrCallNotFound", err)
	}
	if err := h.srv.Hangup(t.Context(), h.room, answered.ID); err != nil {
		t.Fatal(err)
	}
	ev = calls.wait(t, answered.ID, room.CallHungUp, 10*time.Second)
	if ev.Reason != reasonHungUp || ev.Call.Participant != ans.Call.Participant {
		t.Errorf("the answered call ended: %+v for %q, want %q", ev.Call, ev.Reason, reasonHungUp)
	}
	if !waitFor(5*time.Second, func() bool { return closedCalls(erin) == 1 }) {
		t.Errorf("the answering softphone's call did not close (BYE): %v", erin.Events())
	}
	if !waitFor(5*time.Second, func() bool { return len(h.participants()) == 0 }) {
		t.Errorf("participants %v after the hangup", h.participants())
	}
	for _, id := range []room.CallID{ringing.ID, answered.ID, 12345} {
		if err := h.srv.Hangup(t.Context(), h.room, id); !errors.Is(err, room.ErrCallNotFound) {
			t.Errorf("hangup of call %d, over or unknown: %v, want ErrCallNotFound", id, err)
		}
	}
}

// A URI Tessera cannot call is refused at once with room.ErrInvalidValue,
// and no call event is sent.
func TestDialOutInvalidURI(t *testing.T) {
	h := newHarness(t, Config{}, room.Config{})
	for _, uri := range []string{"", "tel:+15551234", "http://example.net", "sip:", "sip:alice@", "sip:a@b\r\nX: y",
		"sips:alice@127.0.0.1", "sip:alice@127.0.0.1;transport=tls", "sip:alice@127.0.0.1;transport=sctp"} {
		if _, err := h.srv.Dial(t.Context(), h.room, uri); !errors.Is(err, room.ErrInvalidValue) {
			t.Errorf("Dial(%q): %v, want ErrInvalidValue", uri, err)
		}
	}
}

// Tessera dials out through an outbound proxy (a SIPp trunk) that
// challenges the INVITE (401): the second INVITE carries the digest of
// Config.Username and Password, the call is answered, and the trunk's
// BYE hangs it up. The dialled host is never contacted: everything goes
// to Config.Outbound.
func TestDialOutDigestAuth(t *testing.T) {
	bin := needSipp(t)
	port := freeUDPPort(t)
	h := newHarness(t, Config{Outbound: "127.0.0.1:" + itoa(port), Username: "tessera", Password: "secret"}, room.Config{})
	calls := watchCalls(t, h.room)
	trunk := startTrunk(t, bin, "dial_auth.xml", port)
	c, err := h.srv.Dial(t.Context(), h.room, "sip:+15550100@pstn.invalid")
	if err != nil {
		t.Fatal(err)
	}
	ans := calls.wait(t, c.ID, room.CallAnswered, 10*time.Second)
	if got := h.participants(); len(got) != 1 || got[0] != "+15550100" {
		t.Errorf("participants %q, want the dialled user", got)
	}
	hung := calls.wait(t, c.ID, room.CallHungUp, 15*time.Second)
	if hung.Reason != "hung up" || hung.Call.Participant != ans.Call.Participant {
		t.Errorf("hung up %+v for %q", hung.Call, hung.Reason)
	}
	trunk.wait(t)
	if got := strings.Join(calls.states(c.ID), " "); got != "dialing ringing answered hungup" {
		t.Errorf("the call went %q", got)
	}
	if !waitFor(5*time.Second, func() bool { return len(h.participants()) == 0 }) {
		t.Errorf("participants %q after the BYE", h.participants())
	}
}

// trunk is a SIPp scenario that Tessera dials out to (as its outbound
// proxy), running until its one call is done.
type trunk struct {
	cmd *exec.Cmd
	out *strings.Builder
	dir string
}

// startTrunk runs SIPp's scenario (in testdata) as a callee on port.
func startTrunk(t *testing.T, bin, scenario string, port int) *trunk {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	tr := &trunk{out: &strings.Builder{}, dir: t.TempDir()}
	tr.cmd = exec.CommandContext(ctx, bin, "-sf", filepath.Join("testdata", scenario), "-i", "127.0.0.1", "-p", itoa(port),
		"-mp", itoa(freeUDPPorts(t, 4)), "-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin",
		"-trace_err", "-error_file", filepath.Join(tr.dir, "errors.log"))
	tr.cmd.Dir, _ = os.Getwd()
	tr.cmd.Stdout, tr.cmd.Stderr = tr.out, tr.out
	if err := tr.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // SIPp binds its port
	return tr
}

// wait fails the test unless the scenario ran to its end.
func (tr *trunk) wait(t *testing.T) {
	t.Helper()
	if err := tr.cmd.Wait(); err != nil {
		errs, _ := os.ReadFile(filepath.Join(tr.dir, "errors.log"))
		t.Fatalf("the trunk's scenario failed: %v\n%s\n%s", err, lastLines([]byte(tr.out.String()), 20), errs)
	}
}
