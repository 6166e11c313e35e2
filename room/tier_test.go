package room

import (
	"testing"
	"time"
)

// fakeEstimate is a connection whose bandwidth estimate the test sets.
type fakeEstimate struct{ bps int }

func (f *fakeEstimate) TargetBitrate() int { return f.bps }
func (f *fakeEstimate) Close() error       { return nil }

// tierRoom is a room with one H.264 viewer whose estimate the test sets,
// and a clock the test advances one tier check (a second) at a time.
type tierRoom struct {
	t   *testing.T
	r   *Room
	p   *participant
	est *fakeEstimate
	now time.Time
	// lost is what the viewer's receiver reports say it lost of the
	// composite in each check.
	lost int
}

func newTierRoom(t *testing.T) *tierRoom {
	r, err := newRoom(Config{ID: 1}, nil, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.video.close)
	sink := make(chan Frame, 1024)
	t.Cleanup(func() { close(sink) })
	go func() {
		for range sink {
		}
	}()
	est := &fakeEstimate{bps: 3_000_000}
	p := &participant{id: 1, vout: &Output{ch: sink}, conn: est}
	r.parts[1], r.order = p, []*participant{p}
	r.addViewer(p, outputKey{CodecH264, 0})
	return &tierRoom{t: t, r: r, p: p, est: est, now: time.Now()}
}

// check runs one tier check a second after the last with the estimate at
// bps and returns the viewer's tier.
func (tr *tierRoom) check(bps int) int {
	tr.now = tr.now.Add(time.Second)
	tr.est.bps = bps
	tr.p.loss.videoOut = tr.lost
	tr.r.chooseTiers(tr.now)
	return tr.p.vkey.tier
}

// checks runs n checks at bps and returns the check (1-based) at which the
// tier first changed, 0 if it never did.
func (tr *tierRoom) checks(n, bps int) int {
	from := tr.p.vkey.tier
	for i := range n {
		if tr.check(bps) != from {
			return i + 1
		}
	}
	return 0
}

// A viewer losing packets moves down a tier after two low estimates in a
// row and not at all on a single dip; the new output gets it a keyframe.
func TestTierFollowsBandwidthEstimate(t *testing.T) {
	tr := newTierRoom(t)
	tr.lost = 5
	if tier := tr.check(900_000); tier != 0 {
		t.Fatalf("one low estimate moved the viewer to tier %d", tier)
	}
	if tier := tr.check(3_000_000); tier != 0 {
		t.Fatal("moved on a dip")
	}
	tr.check(900_000)
	if tier := tr.check(900_000); tier != 1 {
		t.Fatalf("two low estimates: tier %d, want 1", tier)
	}
	r := tr.r
	if o := r.video.outputs[outputKey{CodecH264, 1}]; o == nil || o.viewers != 1 || !o.keyWanted {
		t.Fatalf("tier-1 output %+v: want one viewer and a keyframe on its way", o)
	}
	if o := r.video.outputs[outputKey{CodecH264, 0}]; o.viewers != 0 {
		t.Fatalf("tier-0 output still has %d viewers", o.viewers)
	}
	if tr.p.vready {
		t.Fatal("a viewer moved to another encoder is sent its frames before a keyframe")
	}
	// A high estimate (above 120% of the upper tier) brings it back up
	// after five checks, once the 10 s after the move down have passed.
	if at := tr.checks(20, 2_500_000); at != 14 {
		t.Fatalf("moved back up at check %d after the move down, want 14 (votes count from 10 s after the move)", at)
	}
}

// On the low tier the estimate only shows that the link is not the limit
// (GCC grows it to at most 1.5x what is sent): the viewer is moved up on
// trial. A trial that fails at once doubles the wait before the next one;
// one that holds resets it.
func TestTierTrialUpgradeBacksOff(t *testing.T) {
	tr := newTierRoom(t)
	tr.lost = 5
	low := 400_000
	tr.checks(2, 900_000) // down to tier 1 (400 kbps)
	if tr.p.vkey.tier != 1 {
		t.Fatal("viewer did not move down")
	}
	if at := tr.checks(30, low*125/100); at != 0 {
		t.Fatalf("an estimate 25%% above the low tier moved the viewer up at check %d", at)
	}
	// 1.5x the low tier: headroom. The 10 s wait has long passed: five
	// checks suffice.
	if at := tr.checks(10, low*150/100); at != 5 {
		t.Fatalf("trial move up at check %d, want 5", at)
	}
	// The upper tier does not fit: down again within the trial window.
	// Each failed trial doubles the wait: 20 s, 40 s, 80 s, 160 s, 160 s.
	for _, wait := range []int{20, 40, 80, 160, 160} {
		if at := tr.checks(3, 900_000); at != 2 {
			t.Fatalf("failed trial: moved down at check %d, want 2", at)
		}
		if at := tr.checks(wait+10, low*150/100); at != wait+4 {
			t.Fatalf("after a failed trial: moved up at check %d, want %d (votes count from %d s after the move)", at, wait+4, wait)
		}
	}
	// A trial that holds past the window resets the wait to 10 s.
	tr.checks(20, 2_000_000)
	if tr.p.vkey.tier != 0 {
		t.Fatal("viewer left the top tier on a good estimate")
	}
	tr.checks(2, 900_000)
	if at := tr.checks(20, low*150/100); at != 14 {
		t.Fatalf("after a trial that held: moved up at check %d, want 14", at)
	}
}

// A low estimate that no loss corroborates (a busy server's own
// scheduling delay reads as queueing to the delay-based estimator) moves
// the viewer down only after five seconds, and the viewer is back on its
// tier within three seconds of the estimate's recovery.
func TestTierLowEstimateWithoutLoss(t *testing.T) {
	tr := newTierRoom(t)
	if at := tr.checks(10, 1_100_000); at != 5 {
		t.Fatalf("moved down at check %d on an estimate alone, want 5", at)
	}
	if at := tr.checks(10, 2_000_000); at != 3 {
		t.Fatalf("back up at check %d once the estimate recovered, want 3", at)
	}
	// Reported loss corroborates a low estimate: two checks are enough.
	tr.lost = 5
	if at := tr.checks(10, 1_100_000); at != 2 {
		t.Fatalf("moved down at check %d with loss, want 2", at)
	}
}

// A viewer that asked for a lower tier (a small screen) never goes above
// it, whatever its estimate.
func TestTierFloor(t *testing.T) {
	tr := newTierRoom(t)
	tr.p.tier.Floor = 1
	if tier := tr.check(5_000_000); tier != 1 {
		t.Fatalf("viewer with floor 1 on tier %d", tier)
	}
	if at := tr.checks(60, 5_000_000); at != 0 {
		t.Fatalf("viewer with floor 1 moved up at check %d", at)
	}
}
