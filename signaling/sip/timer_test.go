package sip

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/tessera-mcu/tessera/room"
)

// A phone that asks for a 3 s session timer and refreshes it twice by
// re-INVITE gets Session-Expires (refresher=uac) and Require: timer in
// every 200 OK, and no BYE while it refreshes; once it stops, Tessera
// sends the BYE and the room is empty.
func TestSIPpSessionTimer(t *testing.T) {
	h := newHarness(t, Config{MinSE: 2 * time.Second}, room.Config{})
	start := time.Now()
	if err := h.sipp(t, "timer.xml", "u1", testRoom.String(), "-key", "refresh_ms", "1200"); err != nil {
		t.Fatalf("session timer scenario: %v", err)
	}
	// Two refreshes 1.2 s apart, then 2 s (3 s less a third) to the BYE.
	if d := time.Since(start); d < 4*time.Second {
		t.Fatalf("the BYE came %v after the INVITE, before the session could expire", d)
	}
	if !waitFor(2*time.Second, func() bool { return h.srv.Calls() == 0 && len(h.participants()) == 0 }) {
		t.Fatalf("%d calls up, participants %q after the session expired", h.srv.Calls(), h.participants())
	}
}

// A session interval below Min-SE is refused 422 with Min-SE, and nobody
// joins the room.
func TestSIPpSessionIntervalTooSmall(t *testing.T) {
	h := newHarness(t, Config{MinSE: 2 * time.Second}, room.Config{})
	if err := h.sipp(t, "timer422.xml", "u1", testRoom.String(), "-key", "se", "1"); err != nil {
		t.Fatalf("422 scenario: %v", err)
	}
	if st := h.srv.Stats(); st.Refused != 1 || st.Answered != 0 {
		t.Fatalf("stats %+v, want one refused", st)
	}
	if names := h.participants(); len(names) != 0 {
		t.Fatalf("participants after the 422: %q", names)
	}
}

// The interval and refresher an INVITE's headers give.
func TestNegotiateTimer(t *testing.T) {
	s := &Server{cfg: Config{MinSE: 90 * time.Second}}
	for _, tc := range []struct {
		name      string
		hdrs      map[string]string
		none      bool
		tooSmall  bool
		bad       bool
		interval  time.Duration
		refresher string
		require   bool
	}{
		{name: "no Session-Expires", hdrs: map[string]string{"Supported": "timer"}, none: true},
		{name: "uac refreshes", hdrs: map[string]string{"Supported": "100rel, timer", "Session-Expires": "1800;refresher=uac"},
			interval: 1800 * time.Second, refresher: "uac", require: true},
		{name: "left to Tessera", hdrs: map[string]string{"Supported": "timer", "Session-Expires": "600", "Allow": "INVITE, UPDATE"},
			interval: 600 * time.Second, refresher: "uas", require: true},
		{name: "left to Tessera, no UPDATE", hdrs: map[string]string{"Supported": "timer", "Session-Expires": "600"},
			interval: 600 * time.Second, refresher: "uac", require: true},
		{name: "compact form", hdrs: map[string]string{"k": "timer", "x": "120;refresher=uac"},
			interval: 120 * time.Second, refresher: "uac", require: true},
		{name: "too small", hdrs: map[string]string{"Supported": "timer", "Session-Expires": "60"}, tooSmall: true},
		{name: "above Min-SE of the request", hdrs: map[string]string{"Supported": "timer", "Session-Expires": "200;refresher=uac", "Min-SE": "120"},
			interval: 200 * time.Second, refresher: "uac", require: true},
		{name: "below Min-SE of the request", hdrs: map[string]string{"Supported": "timer", "Session-Expires": "100", "Min-SE": "120"}, bad: true},
		{name: "not a number", hdrs: map[string]string{"Session-Expires": "soon"}, bad: true},
		{name: "raised without timer support", hdrs: map[string]string{"Session-Expires": "60", "Allow": "UPDATE"},
			interval: 90 * time.Second, refresher: "uas"},
		{name: "no support, no UPDATE", hdrs: map[string]string{"Session-Expires": "600"}, none: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := sip.NewRequest(sip.INVITE, sip.Uri{User: "1234", Host: "127.0.0.1"})
			for k, v := range tc.hdrs {
				req.AppendHeader(sip.NewHeader(k, v))
			}
			st, err := s.negotiateTimer(req)
			switch {
			case tc.bad:
				if !errors.Is(err, ErrBadRequest) {
					t.Fatalf("err %v, want ErrBadRequest", err)
				}
				return
			case tc.tooSmall:
				if !errors.Is(err, ErrSessionIntervalTooSmall) || refuse(err).code != 422 {
					t.Fatalf("err %v, want 422", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			case tc.none:
				if st != nil {
					t.Fatalf("timer %+v, want none", st)
				}
				return
			case st == nil:
				t.Fatal("no timer")
			}
			if st.interval != tc.interval || st.refresher != tc.refresher || st.supported != tc.require {
				t.Fatalf("interval %v refresher %s require %v, want %v %s %v",
					st.interval, st.refresher, st.supported, tc.interval, tc.refresher, tc.require)
			}
		})
	}
}

// A phone that leaves the refreshing to Tessera gets refresher=uas and
// an UPDATE refresh at half the interval, twice; when a refresh fails
// (481), Tessera hangs up and the room is empty.
func TestSIPpSessionTimerTesseraRefreshes(t *testing.T) {
	h := newHarness(t, Config{MinSE: 2 * time.Second}, room.Config{})
	start := time.Now()
	if err := h.sipp(t, "timer_uas.xml", "u1", testRoom.String()); err != nil {
		t.Fatalf("session timer scenario (Tessera refreshes): %v", err)
	}
	if d := time.Since(start); d < 3*time.Second {
		t.Fatalf("two refreshes of a 4 s session within %v", d)
	}
	if !waitFor(2*time.Second, func() bool { return h.srv.Calls() == 0 && len(h.participants()) == 0 }) {
		t.Fatalf("%d calls up, participants %q after the failed refresh", h.srv.Calls(), h.participants())
	}
}

// A refresh asking for less than Min-SE is refused 422 (and leaves the
// session as it was); one without Session-Expires keeps the interval and
// is answered with it.
func TestSessionRefresh(t *testing.T) {
	s := &Server{cfg: Config{MinSE: 90 * time.Second}}
	req := sip.NewRequest(sip.INVITE, sip.Uri{User: "1234", Host: "127.0.0.1"})
	req.AppendHeader(sip.NewHeader("Supported", "timer"))
	req.AppendHeader(sip.NewHeader("Session-Expires", "300;refresher=uac"))
	st, err := s.negotiateTimer(req)
	if err != nil || st == nil {
		t.Fatalf("timer %v, err %v", st, err)
	}
	small := sip.NewRequest(sip.UPDATE, sip.Uri{User: "1234", Host: "127.0.0.1"})
	small.AppendHeader(sip.NewHeader("Supported", "timer"))
	small.AppendHeader(sip.NewHeader("Session-Expires", "30"))
	if _, err := st.check(small); refuse(err).code != 422 {
		t.Fatalf("refresh of 30 s: %v, want 422", err)
	}
	plain := sip.NewRequest(sip.UPDATE, sip.Uri{User: "1234", Host: "127.0.0.1"})
	asked, err := st.check(plain)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range st.refreshed(asked) {
		got = append(got, h.Name()+": "+h.Value())
	}
	want := []string{"Session-Expires: 300;refresher=uac", "Supported: timer", "Require: timer"}
	if !slices.Equal(got, want) {
		t.Fatalf("refresh answer headers %q, want %q", got, want)
	}
}

// Session timers of dial-out calls, against SIPp callees: one that makes
// Tessera the refresher gets UPDATE refreshes carrying refresher=uac;
// one that answers the first INVITE 422 gets a retry asking for its
// Min-SE, and when it then lets the session lapse Tessera hangs up.
func TestDialOutSessionTimer(t *testing.T) {
	bin := needSipp(t)
	for _, tc := range []struct {
		scenario, reason string
		cfg              Config
	}{
		{"dial_timer.xml", "hung up", Config{MinSE: 2 * time.Second, SessionExpires: 4 * time.Second}},
		{"dial_timer422.xml", errSessionExpired.Error(), Config{MinSE: 2 * time.Second, SessionExpires: 2 * time.Second}},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			port := freeUDPPort(t)
			tc.cfg.Outbound = "127.0.0.1:" + itoa(port)
			h := newHarness(t, tc.cfg, room.Config{})
			calls := watchCalls(t, h.room)
			trunk := startTrunk(t, bin, tc.scenario, port)
			c, err := h.srv.Dial(t.Context(), h.room, "sip:callee@pstn.invalid")
			if err != nil {
				t.Fatal(err)
			}
			calls.wait(t, c.ID, room.CallAnswered, 10*time.Second)
			hung := calls.wait(t, c.ID, room.CallHungUp, 15*time.Second)
			trunk.wait(t)
			if hung.Reason != tc.reason {
				t.Errorf("hung up for %q, want %q", hung.Reason, tc.reason)
			}
		})
	}
}
