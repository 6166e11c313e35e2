package mixer

import (
	"testing"
	"time"
)

const tick = 20 * time.Millisecond

func TestSpeakerHoldIgnoresFlapping(t *testing.T) {
	s := NewSpeakerHold(1500 * time.Millisecond)
	now := time.Unix(1000, 0)
	if got := s.Update(1, now); got != 1 {
		t.Fatalf("first talker = %d, want 1 at once", got)
	}
	// 1 and 2 take turns being loudest every second for a minute: 2 is
	// never the loudest for the whole hold.
	for i := range 3000 {
		loudest := SourceID(1)
		if (i/50)%2 == 1 {
			loudest = 2
		}
		now = now.Add(tick)
		if got := s.Update(loudest, now); got != 1 {
			t.Fatalf("tick %d: speaker %d, want 1", i, got)
		}
	}
	// A pause does not count as being the loudest.
	for _, loudest := range []SourceID{1, 2, 0, 2} {
		for range 50 {
			now = now.Add(tick)
			if got := s.Update(loudest, now); got != 1 {
				t.Fatalf("speaker %d, want 1", got)
			}
		}
	}
}

func TestSpeakerHoldSwitches(t *testing.T) {
	s := NewSpeakerHold(0)
	if s.Hold() != DefaultSpeakerHold {
		t.Fatalf("hold = %v", s.Hold())
	}
	now := time.Unix(1000, 0)
	s.Update(1, now)
	start := now.Add(tick)
	for now = start; now.Sub(start) < s.Hold(); now = now.Add(tick) {
		if got := s.Update(2, now); got != 1 {
			t.Fatalf("after %v: speaker %d, want 1", now.Sub(start), got)
		}
	}
	if got := s.Update(2, now); got != 2 {
		t.Fatalf("after %v: speaker %d, want 2", now.Sub(start), got)
	}
	// Silence keeps the speaker.
	for range 500 {
		now = now.Add(tick)
		if got := s.Update(0, now); got != 2 {
			t.Fatalf("silence: speaker %d, want 2", got)
		}
	}
	if s.Speaker() != 2 {
		t.Fatalf("Speaker() = %d", s.Speaker())
	}
}

func TestSpeakerHoldForget(t *testing.T) {
	s := NewSpeakerHold(time.Second)
	now := time.Unix(1000, 0)
	s.Update(1, now)
	s.Forget(3) // not on screen: no effect
	if got := s.Update(3, now.Add(tick)); got != 1 {
		t.Fatalf("speaker %d, want 1", got)
	}
	s.Forget(1)
	if got := s.Update(3, now.Add(2*tick)); got != 3 {
		t.Fatalf("after the speaker left: %d, want 3 at once", got)
	}
	s.Forget(3)
	if got := s.Update(0, now.Add(3*tick)); got != 0 {
		t.Fatalf("everyone left: %d, want 0", got)
	}
	// A challenger who leaves loses its claim.
	s.Update(4, now.Add(4*tick))
	s.Update(5, now.Add(5*tick))
	s.Forget(5)
	if got := s.Update(5, now.Add(5*tick+time.Second)); got != 4 {
		t.Fatalf("rejoined challenger took over at once: %d", got)
	}
}
