package room

import (
	"math"
	"sync/atomic"
	"time"
)

// TickBuckets are the upper bounds of a worker's tick-duration histogram
// (WorkerStats.Ticks). A room's tick has 20 ms, one audio frame, to do all
// its rooms' work; ticks in the upper buckets hold up the rooms after it.
var TickBuckets = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond,
}

// LateTick is how long after it was due a room's tick may start before it
// counts as late: half an audio frame, by which time the room's mix leaves
// noticeably out of step.
const LateTick = tick / 2

// busyWindow is the span over which a worker's busy fraction is measured.
const busyWindow = time.Second

// tickHistogram counts tick durations in TickBuckets with one atomic add
// per bucket hit: the worker observes, any goroutine takes snapshots.
type tickHistogram struct {
	// counts[i] counts durations in (TickBuckets[i-1], TickBuckets[i]];
	// the last one, those above every bound.
	counts [len(TickBuckets) + 1]atomic.Uint64
	sum    atomic.Int64 // nanoseconds
}

func (h *tickHistogram) observe(d time.Duration) {
	i := 0
	for i < len(TickBuckets) && d > TickBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// TickHistogram is a snapshot of a worker's tick durations, shaped as a
// Prometheus histogram.
type TickHistogram struct {
	// Count is the number of ticks; Sum, their total duration.
	Count uint64
	Sum   time.Duration
	// Buckets[i] counts the ticks that took at most TickBuckets[i]
	// (cumulative: never less than Buckets[i-1], never more than Count).
	Buckets [len(TickBuckets)]uint64
}

func (h *tickHistogram) snapshot() TickHistogram {
	var s TickHistogram
	for i := range h.counts {
		s.Count += h.counts[i].Load()
		if i < len(s.Buckets) {
			s.Buckets[i] = s.Count
		}
	}
	s.Sum = time.Duration(h.sum.Load())
	return s
}

// workerMeter is what a worker measures of itself. The worker writes it;
// WorkerStats reads it from any goroutine.
type workerMeter struct {
	ticks tickHistogram
	// late counts ticks that started more than LateTick after they were
	// due; skippedAudio and skippedVideo, the audio frames and composite
	// pictures its rooms gave up on because they ran too late.
	late, skippedAudio, skippedVideo atomic.Uint64
	// busy is the time spent in ticks (nanoseconds); busyRatio, the share
	// of the last complete busyWindow spent in them (float64 bits).
	busy      atomic.Int64
	busyRatio atomic.Uint64

	// Worker goroutine only: where the current busy window started.
	windowStart time.Time
	windowBusy  int64
}

// ran records one room tick that was due at due, started at start and
// took took (due zero: the room's first tick, which has no deadline).
func (m *workerMeter) ran(due, start time.Time, took time.Duration) {
	if !due.IsZero() && start.Sub(due) > LateTick {
		m.late.Add(1)
	}
	m.ticks.observe(took)
	m.busy.Add(int64(took))
}

// window closes the busy window once it is busyWindow long (worker
// goroutine, once round the loop).
func (m *workerMeter) window(now time.Time) {
	if m.windowStart.IsZero() {
		m.windowStart = now
		return
	}
	span := now.Sub(m.windowStart)
	if span < busyWindow {
		return
	}
	busy := m.busy.Load()
	ratio := min(float64(busy-m.windowBusy)/float64(span), 1)
	m.busyRatio.Store(math.Float64bits(ratio))
	m.windowStart, m.windowBusy = now, busy
}

// WorkerStats describes one room worker.
type WorkerStats struct {
	// ID numbers the worker from 0; CPU is the core it is pinned to (-1:
	// none).
	ID, CPU int
	Pinned  bool
	Rooms   int
	// Ticks are the durations of the room ticks it ran.
	Ticks TickHistogram
	// Late counts ticks that started more than LateTick after they were
	// due. SkippedAudio counts the 20 ms audio frames and SkippedVideo the
	// composite pictures its rooms skipped for running too late.
	Late, SkippedAudio, SkippedVideo uint64
	// Busy is the time spent in ticks since the worker started;
	// BusyRatio, the share of the last second spent in them.
	Busy      time.Duration
	BusyRatio float64
}

// Workers describes the room workers, by ID.
func (m *Manager) Workers() []WorkerStats { return m.workers.metrics() }

func (p *workerPool) metrics() []WorkerStats {
	out := make([]WorkerStats, len(p.workers))
	for i, w := range p.workers {
		out[i] = WorkerStats{
			ID: w.id, CPU: w.cpu, Pinned: w.pinned.Load(), Rooms: int(w.count.Load()),
			Ticks: w.meter.ticks.snapshot(), Late: w.meter.late.Load(),
			SkippedAudio: w.meter.skippedAudio.Load(), SkippedVideo: w.meter.skippedVideo.Load(),
			Busy: time.Duration(w.meter.busy.Load()), BusyRatio: math.Float64frombits(w.meter.busyRatio.Load()),
		}
	}
	return out
}

// skipped counts frames a room on this placement gave up on (any
// goroutine; the room's worker, normally).
func (pl *placement) skipped(audio, video uint64) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.w != nil {
		pl.w.meter.skippedAudio.Add(audio)
		pl.w.meter.skippedVideo.Add(video)
	}
}
