package sip

import (
	"slices"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/room"
)

// A trunk set to delayed offer calls a room: Tessera offers in its 200
// OK, takes the answer from the ACK and the caller joins the room until
// its BYE.
func TestSIPpDelayedOffer(t *testing.T) {
	h := newHarness(t, Config{}, room.Config{})
	port, _ := listenAudio(t)
	seen := make(chan []string, 1)
	go func() {
		var names []string
		waitFor(10*time.Second, func() bool { names = h.participants(); return len(names) > 0 })
		seen <- names
	}()
	if err := h.sipp(t, "delayed.xml", "u1", testRoom.String(), "-key", "audio_port", itoa(port)); err != nil {
		t.Fatalf("the call failed: %v", err)
	}
	if names := <-seen; !slices.Equal(names, []string{"Deskphone"}) {
		t.Fatalf("participants during the call: %q, want [Deskphone]", names)
	}
	if !waitFor(2*time.Second, func() bool { return h.srv.Calls() == 0 && len(h.participants()) == 0 }) {
		t.Fatalf("%d calls, participants %q after the BYE", h.srv.Calls(), h.participants())
	}
	if st := h.srv.Stats(); st.Answered != 1 {
		t.Fatalf("stats %+v, want one answered call", st)
	}
}

// The media of a delayed-offer call follows the answer in the ACK: in a
// room with a PIN, the prompt's 1 kHz beeps reach the port that answer
// names.
func TestSIPpDelayedOfferMedia(t *testing.T) {
	h := newHarness(t, Config{}, room.Config{Pin: "4321"})
	port, audio := listenAudio(t)
	heard := make(chan []int16, 1)
	go func() {
		var pcm []int16
		deadline := time.After(5 * time.Second)
		for len(pcm) < 48000 {
			select {
			case f, ok := <-audio:
				if !ok {
					heard <- pcm
					return
				}
				pcm = append(pcm, f...)
			case <-deadline:
				heard <- pcm
				return
			}
		}
		heard <- pcm
	}()
	if err := h.sipp(t, "delayed.xml", "u1", testRoom.String(), "-key", "audio_port", itoa(port)); err != nil {
		t.Fatalf("the call failed: %v", err)
	}
	pcm := <-heard
	if len(pcm) < 7200 {
		t.Fatalf("the caller heard %d samples", len(pcm))
	}
	if beep := codectest.Goertzel(pcm[:7200], toneRate, 1000); beep < 0.1 {
		t.Fatalf("the prompt's first 150 ms carry 1 kHz at %.3f", beep)
	}
}

// An ACK without the answer to Tessera's offer ends the call with a BYE;
// nobody joins.
func TestSIPpDelayedOfferNoAnswer(t *testing.T) {
	h := newHarness(t, Config{}, room.Config{})
	if err := h.sipp(t, "delayed_noanswer.xml", "u1", testRoom.String()); err != nil {
		t.Fatalf("the scenario failed: %v", err)
	}
	if !waitFor(2*time.Second, func() bool { return h.srv.Calls() == 0 }) || len(h.participants()) != 0 {
		t.Fatalf("%d calls, participants %q", h.srv.Calls(), h.participants())
	}
}
