package room

import (
	"math"
	"sync/atomic"
	"testing"
	"time"
)

func TestTickHistogramSnapshot(t *testing.T) {
	var h tickHistogram
	if s := h.snapshot(); s.Count != 0 || s.Sum != 0 || s.Buckets != [len(TickBuckets)]uint64{} {
		t.Fatalf("empty histogram: %+v", s)
	}
	// A duration equal to a bound belongs to that bound's bucket; one
	// above every bound only to the count.
	durations := []time.Duration{0, 100 * time.Microsecond, 101 * time.Microsecond, 3 * time.Millisecond,
		20 * time.Millisecond, time.Second}
	var sum time.Duration
	for _, d := range durations {
		h.observe(d)
		sum += d
	}
	s := h.snapshot()
	want := map[time.Duration]uint64{
		100 * time.Microsecond: 2, 250 * time.Microsecond: 3, 500 * time.Microsecond: 3, time.Millisecond: 3,
		2500 * time.Microsecond: 3, 5 * time.Millisecond: 4, 10 * time.Millisecond: 4, 20 * time.Millisecond: 5,
		50 * time.Millisecond: 5, 100 * time.Millisecond: 5,
	}
	for i, bound := range TickBuckets {
		if s.Buckets[i] != want[bound] {
			t.Errorf("bucket le=%v: %d, want %d", bound, s.Buckets[i], want[bound])
		}
	}
	if s.Count != uint64(len(durations)) || s.Sum != sum {
		t.Errorf("count %d sum %v, want %d %v", s.Count, s.Sum, len(durations), sum)
	}
}

// Snapshots taken while a worker observes are always a valid histogram:
// buckets never decrease, none exceeds the count.
func TestTickHistogramSnapshotWhileObserving(t *testing.T) {
	var h tickHistogram
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; !stop.Load(); i++ {
			h.observe(time.Duration(i%200) * time.Millisecond / 2)
		}
	}()
	var last TickHistogram
	for range 2000 {
		s := h.snapshot()
		for i := range s.Buckets {
			if (i > 0 && s.Buckets[i] < s.Buckets[i-1]) || s.Buckets[i] > s.Count {
				t.Fatalf("snapshot not a histogram: %+v", s)
			}
			if s.Buckets[i] < last.Buckets[i] {
				t.Fatalf("bucket %d went back: %d after %d", i, s.Buckets[i], last.Buckets[i])
			}
		}
		if s.Count < last.Count {
			t.Fatalf("count went back: %d after %d", s.Count, last.Count)
		}
		last = s
	}
	stop.Store(true)
	<-done
}

func TestWorkerMeterLateAndBusy(t *testing.T) {
	var m workerMeter
	due := time.Unix(1000, 0)
	m.ran(time.Time{}, due, time.Millisecond)                          // a first tick has no deadline
	m.ran(due, due.Add(LateTick), time.Millisecond)                    // just in time
	m.ran(due, due.Add(LateTick+time.Microsecond), 3*time.Millisecond) // late
	if got := m.late.Load(); got != 1 {
		t.Errorf("late ticks %d, want 1", got)
	}
	if s := m.ticks.snapshot(); s.Count != 3 || s.Sum != 5*time.Millisecond {
		t.Errorf("ticks %+v", s)
	}

	// The busy fraction is the share of the last whole window spent in
	// ticks.
	m.window(due)
	m.ran(due, due, 245*time.Millisecond)
	m.window(due.Add(busyWindow / 2))
	if r := math.Float64frombits(m.busyRatio.Load()); r != 0 {
		t.Errorf("busy ratio %v before the window closed", r)
	}
	m.window(due.Add(busyWindow))
	if r := math.Float64frombits(m.busyRatio.Load()); math.Abs(r-0.25) > 1e-9 {
		t.Errorf("busy ratio %v, want 0.25", r)
	}
	m.window(due.Add(2 * busyWindow))
	if r := math.Float64frombits(m.busyRatio.Load()); r != 0 {
		t.Errorf("busy ratio %v of an idle second", r)
	}
}

// A real worker measures the ticks it runs: a room whose tick takes a few
// milliseconds, and that is due again long before it returns, shows up as
// busy time, late ticks and durations above the small buckets.
func TestWorkerStatsOfARunningWorker(t *testing.T) {
	p := startWorkers(1, nil, testLogger(t))
	defer p.close()
	slow := &slowRoom{took: 3 * time.Millisecond}
	pl, _ := p.assign(slow)
	pl.skipped(7, 2)
	if !eventually(5*time.Second, func() bool {
		s := p.metrics()[0]
		return s.Ticks.Count >= 20 && s.Late > 0 && s.BusyRatio > 0
	}) {
		t.Fatalf("worker stats do not move: %+v", p.metrics()[0])
	}
	s := p.metrics()[0]
	if s.Ticks.Buckets[4] == s.Ticks.Count { // le 2.5 ms
		t.Errorf("3 ms ticks all in the buckets up to 2.5 ms: %+v", s.Ticks)
	}
	if s.Ticks.Sum < time.Duration(s.Ticks.Count)*slow.took || s.Busy < s.Ticks.Sum {
		t.Errorf("tick time %v busy %v for %d ticks of at least %v", s.Ticks.Sum, s.Busy, s.Ticks.Count, slow.took)
	}
	if s.BusyRatio > 1 || s.SkippedAudio != 7 || s.SkippedVideo != 2 || s.Rooms != 1 {
		t.Errorf("stats %+v", s)
	}
	p.unassign(slow)
	// A room gone from the worker adds nothing more.
	pl.skipped(1, 1)
	if s := p.metrics()[0]; s.SkippedAudio != 7 || s.SkippedVideo != 2 {
		t.Errorf("skips counted for a room that left: %+v", s)
	}
}

// slowRoom's tick takes took, and every other one asks to be run again as
// if its worker had been held up for two audio frames.
type slowRoom struct {
	took time.Duration
	n    int
}

func (f *slowRoom) tick(now time.Time) time.Time {
	time.Sleep(f.took)
	f.n++
	if f.n%2 == 0 {
		return now.Add(-2 * tick)
	}
	return now.Add(tick)
}
func (f *slowRoom) cost() int64      { return 1 }
func (f *slowRoom) place(*placement) {}
func (f *slowRoom) fail(error)       {}
