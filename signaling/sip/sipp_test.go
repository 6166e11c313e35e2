package sip

import (
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/room"
)

// A phone calls the room with PCMU over UDP and with PCMA over TCP: it
// is in the room, under its From display name, while the call is up (a
// DTMF key by INFO reaches OnDigit, a re-INVITE holds the call) and gone
// after its BYE.
func TestSIPpCall(t *testing.T) {
	for _, tc := range []struct {
		name, transport, pt, codec string
	}{
		{"PCMU-UDP", "u1", "0", "PCMU"},
		{"PCMA-TCP", "t1", "8", "PCMA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}, room.Config{})
			seen := make(chan []string, 1)
			go func() {
				var names []string
				waitFor(10*time.Second, func() bool { names = h.participants(); return len(names) > 0 })
				seen <- names
			}()
			if err := h.sipp(t, "call.xml", tc.transport, testRoom.String(),
				"-key", "codec_pt", tc.pt, "-key", "codec_name", tc.codec, "-key", "hold_ms", "800"); err != nil {
				t.Fatalf("the call failed: %v", err)
			}
			if names := <-seen; !slices.Equal(names, []string{"Deskphone"}) {
				t.Fatalf("participants during the call: %q, want [Deskphone]", names)
			}
			if names := h.participants(); len(names) != 0 {
				t.Fatalf("participants after the BYE: %q", names)
			}
			if !waitFor(2*time.Second, func() bool { return h.srv.Calls() == 0 }) {
				t.Fatalf("%d calls up after the BYE", h.srv.Calls())
			}
			if k := h.keys(); k != "5" {
				t.Fatalf("DTMF keys %q, want \"5\"", k)
			}
			if st := h.srv.Stats(); st.Answered != 1 {
				t.Fatalf("stats %+v, want one answered call", st)
			}
		})
	}
}

// A CANCEL while the room rings gets the INVITE a 487 and leaves nobody
// in the room.
func TestSIPpCancel(t *testing.T) {
	h := newHarness(t, Config{Ring: 2 * time.Second}, room.Config{})
	if err := h.sipp(t, "cancel.xml", "u1", testRoom.String()); err != nil {
		t.Fatalf("cancel scenario: %v", err)
	}
	if names := h.participants(); len(names) != 0 {
		t.Fatalf("participants after the CANCEL: %q", names)
	}
	if st := h.srv.Stats(); st.Cancelled != 1 || st.Answered != 0 || h.srv.Calls() != 0 {
		t.Fatalf("stats %+v, %d calls, want one cancelled and none up", st, h.srv.Calls())
	}
}

// OPTIONS is answered 200 with Allow and Accept.
func TestSIPpOptions(t *testing.T) {
	h := newHarness(t, Config{}, room.Config{})
	if err := h.sipp(t, "options.xml", "u1", testRoom.String()); err != nil {
		t.Fatalf("options scenario: %v", err)
	}
}

// A malformed INVITE and one with no usable codec are refused (400, 400
// for one the SIP stack cannot parse, 488), and the next call is
// answered.
func TestSIPpBadRequests(t *testing.T) {
	h := newHarness(t, Config{}, room.Config{})
	if err := h.sipp(t, "bad.xml", "u1", testRoom.String()); err != nil {
		t.Fatalf("bad-request scenario: %v", err)
	}
	st := h.srv.Stats()
	if st.Answered != 1 || st.Malformed < 2 || st.Refused < 1 {
		t.Fatalf("stats %+v: want 1 answered, 2 malformed, 1 refused", st)
	}
	if names := h.participants(); len(names) != 0 {
		t.Fatalf("participants after the scenario: %q", names)
	}
}

// A hundred calls in a row leave no goroutine and no file descriptor
// (socket) behind.
func TestSIPpCallsNoLeak(t *testing.T) {
	h := newHarness(t, Config{}, room.Config{})
	// One call first, so that what the stack starts once is counted in.
	if err := h.sipp(t, "call.xml", "u1", testRoom.String(), "-key", "hold_ms", "0"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	base, baseFDs := runtime.NumGoroutine(), openFDs(t)
	if err := h.sipp(t, "call.xml", "u1", testRoom.String(), "-key", "hold_ms", "0", "-m", "100", "-l", "5", "-r", "25", "-timeout", "90s"); err != nil {
		t.Fatal(err)
	}
	if st := h.srv.Stats(); st.Answered != 101 {
		t.Fatalf("stats %+v, want 101 answered", st)
	}
	var n int
	if !waitFor(10*time.Second, func() bool { n = runtime.NumGoroutine(); return n <= base+2 }) {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after 100 calls, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
	var fds int
	if !waitFor(5*time.Second, func() bool { fds = openFDs(t); return fds <= baseFDs+2 }) {
		t.Fatalf("%d open files after 100 calls, %d before", fds, baseFDs)
	}
	if h.srv.Calls() != 0 || len(h.participants()) != 0 {
		t.Fatalf("%d calls up, participants %q", h.srv.Calls(), h.participants())
	}
}

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}
