package tier

import (
	"testing"
	"time"
)

var bitrates = []int{1_500_000, 400_000}

// run makes one check a second at each estimate, with lost packets
// reported in each, and returns the tiers.
func run(s *State, cur int, now *time.Time, lost int, estimates ...int) []int {
	var out []int
	for _, bps := range estimates {
		*now = now.Add(time.Second)
		cur = s.Next(cur, Check{Bps: bps, Lost: lost}, bitrates, *now)
		out = append(out, cur)
	}
	return out
}

func same(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// With loss in the receiver reports, two low checks in a row move the
// viewer down; one good check in between starts the count again.
func TestDownAfterTwoLowChecksWithLoss(t *testing.T) {
	var s State
	now := time.Unix(0, 0)
	if got, want := run(&s, 0, &now, 5, 1_000_000, 3_000_000, 1_000_000, 1_000_000), []int{0, 0, 0, 1}; !same(got, want) {
		t.Fatalf("tiers %v, want %v", got, want)
	}
}

// On the estimate alone (no loss: a busy sender reads as congestion to a
// delay-based estimator), it takes five low checks; once the estimate
// recovers the viewer is back within three checks, with no backoff.
func TestDownWithoutLossNeedsFiveChecksAndRecoversInThree(t *testing.T) {
	var s State
	now := time.Unix(0, 0)
	if got, want := run(&s, 0, &now, 0, 1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000), []int{0, 0, 0, 0, 1}; !same(got, want) {
		t.Fatalf("tiers %v, want %v", got, want)
	}
	// GCC grows back at most 1.5x what is sent: 600 kbps is headroom on
	// the 400 kbps tier.
	if got, want := run(&s, 1, &now, 0, 600_000, 600_000, 600_000), []int{1, 1, 0}; !same(got, want) {
		t.Fatalf("recovery: tiers %v, want %v", got, want)
	}
	// Loss in one of the low checks is enough to corroborate them all.
	run(&s, 0, &now, 0, 1_000_000)
	if got := run(&s, 0, &now, 3, 1_000_000); got[0] != 1 {
		t.Fatalf("a lossy second low check: tier %d, want 1", got[0])
	}
}

// After a move down with loss, moving up waits for the backoff and five
// good checks; a trial that fails at once doubles the wait.
func TestUpAfterFiveGoodChecksAndBackoff(t *testing.T) {
	var s State
	now := time.Unix(0, 0)
	run(&s, 0, &now, 5, 1_000_000, 1_000_000) // down to 1
	if s.Backoff() != BackoffMin {
		t.Fatalf("backoff %v after a first move down", s.Backoff())
	}
	checks := 0
	for cur := 1; cur == 1; checks++ {
		if checks > 30 {
			t.Fatal("never moved up")
		}
		now = now.Add(time.Second)
		cur = s.Next(cur, Check{Bps: 600_000}, bitrates, now)
	}
	if checks < int(BackoffMin/time.Second)+UpVotes-1 {
		t.Fatalf("moved up after %d checks, want the %v backoff and five votes", checks, BackoffMin)
	}
	// The trial fails at once: the next wait doubles.
	run(&s, 0, &now, 5, 1_000_000, 1_000_000)
	if s.Backoff() != 2*BackoffMin {
		t.Fatalf("backoff %v after a failed trial, want %v", s.Backoff(), 2*BackoffMin)
	}
	for range 10 {
		s.lossy = true
		s.moved(1, 0, now)
		s.lossy = true
		s.moved(0, 1, now)
	}
	if s.Backoff() != BackoffMax {
		t.Fatalf("backoff %v after many failed trials, want the cap %v", s.Backoff(), BackoffMax)
	}
}

func TestFloorIsHeld(t *testing.T) {
	s := State{Floor: 1}
	now := time.Unix(0, 0)
	for _, tier := range run(&s, 0, &now, 0, 10_000_000, 10_000_000, 10_000_000, 10_000_000, 10_000_000, 10_000_000, 10_000_000) {
		if tier != 1 {
			t.Fatalf("tier %d with floor 1 and a huge estimate", tier)
		}
	}
	if got := run(&s, 1, &now, 9, 10_000); got[0] != 1 {
		t.Fatalf("moved below the last tier: %v", got)
	}
}
