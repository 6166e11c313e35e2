package tier

import (
	"testing"
	"time"
)

var bitrates = []int{1_500_000, 400_000}

// run makes one check a second at each estimate and returns the tiers.
func run(s *State, cur int, now *time.Time, estimates ...int) []int {
	var out []int
	for _, bps := range estimates {
		*now = now.Add(time.Second)
		cur = s.Next(cur, bps, bitrates, *now)
		out = append(out, cur)
	}
	return out
}

func TestDownAfterTwoLowChecks(t *testing.T) {
	var s State
	now := time.Unix(0, 0)
	got := run(&s, 0, &now, 1_000_000, 3_000_000, 1_000_000, 1_000_000)
	want := []int{0, 0, 0, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("tiers %v, want %v (one low check in between does not count)", got, want)
		}
	}
}

func TestUpAfterFiveGoodChecksAndBackoff(t *testing.T) {
	var s State
	now := time.Unix(0, 0)
	run(&s, 0, &now, 1_000_000, 1_000_000) // down to 1
	if s.Backoff() != BackoffMin {
		t.Fatalf("backoff %v after a first move down", s.Backoff())
	}
	// 130% of 400 kbps: room to spare, but not before the backoff ends,
	// and then after five votes.
	checks := 0
	for cur := 1; cur == 1; checks++ {
		if checks > 30 {
			t.Fatal("never moved up")
		}
		now = now.Add(time.Second)
		cur = s.Next(cur, 600_000, bitrates, now)
	}
	if checks < int(BackoffMin/time.Second)+UpVotes-1 {
		t.Fatalf("moved up after %d checks, want the %v backoff and five votes", checks, BackoffMin)
	}
	// The trial fails at once: the next wait doubles.
	run(&s, 0, &now, 1_000_000, 1_000_000)
	if s.Backoff() != 2*BackoffMin {
		t.Fatalf("backoff %v after a failed trial, want %v", s.Backoff(), 2*BackoffMin)
	}
	for range 10 {
		s.Moved(1, 0, now)
		s.Moved(0, 1, now)
	}
	if s.Backoff() != BackoffMax {
		t.Fatalf("backoff %v after many failed trials, want the cap %v", s.Backoff(), BackoffMax)
	}
}

func TestFloorIsHeld(t *testing.T) {
	s := State{Floor: 1}
	now := time.Unix(0, 0)
	got := run(&s, 0, &now, 10_000_000, 10_000_000, 10_000_000, 10_000_000, 10_000_000, 10_000_000, 10_000_000)
	for _, tier := range got {
		if tier != 1 {
			t.Fatalf("tiers %v with floor 1 and a huge estimate", got)
		}
	}
	if got := run(&s, 1, &now, 10_000); got[0] != 1 {
		t.Fatalf("moved below the last tier: %v", got)
	}
}
