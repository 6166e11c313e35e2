package cluster

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-mcu/tessera/internal/loglimit"
	"github.com/tessera-mcu/tessera/room"
)

// LocalRooms is what the load reporter reads of the node's rooms (a
// *room.Manager is one). Both calls are snapshots that take no trip to
// any room's goroutine.
type LocalRooms interface {
	RoomStats() []room.RoomStats
	Workers() []room.WorkerStats
}

// DefaultReportEvery is how often a Reporter measures and stores the
// node's load.
const DefaultReportEvery = time.Second

// DefaultVideoWeight is the video weight a node reports until it has
// measured its own (it needs a composed video room and an audio room
// with participants running at once). It comes from docs/BENCHMARKS.md:
// an audio room's tick with 10 participants takes 331 µs every 20 ms,
// 1.66% of a core for 11 of Score's units (the room and its
// participants), 0.15% each; a composed room with nine H.264 cameras
// takes 2398 µs a frame at 30 fps, 7.2% of a core, 48 units, of which
// Score already counts 10 (the room and its nine participants).
const DefaultVideoWeight = 38

// maxVideoWeight bounds a measured video weight (a measurement taken
// while the audio rooms were nearly idle would otherwise be huge).
const maxVideoWeight = 1000

// weightSmoothing is the share of a new measurement in the video weight
// (an exponential moving average over the reports).
const weightSmoothing = 0.2

// Reporter measures the node's load every period and stores it
// (Node.SetLoad): its rooms, its rooms with a composite being sent
// (video rooms), its participants (viewers included), the mean busy
// share of its room workers, and the video weight it measures. Its one
// goroutine is started by Node.ReportLoad and waited for by Close. When
// Redis is away the load still goes out with the node's next heartbeat;
// the reporter counts the failure, logs it rate-limited and goes on.
type Reporter struct {
	node  *Node
	rooms LocalRooms
	every time.Duration
	est   weightEstimator

	mu   sync.Mutex
	last Load

	fails   atomic.Uint64
	failLog loglimit.Limiter

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// ReportLoad starts reporting the node's load, read from rooms, every
// period (0: DefaultReportEvery). The first report is made before it
// returns.
func (n *Node) ReportLoad(rooms LocalRooms, every time.Duration) *Reporter {
	if every <= 0 {
		every = DefaultReportEvery
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Reporter{node: n, rooms: rooms, every: every, est: newWeightEstimator(),
		cancel: cancel, done: make(chan struct{})}
	r.report(ctx)
	go r.run(ctx)
	return r
}

// Load is the load the reporter measured last.
func (r *Reporter) Load() Load {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// Failures counts the reports Redis did not take at once.
func (r *Reporter) Failures() uint64 { return r.fails.Load() }

// Close stops the reporter and waits for its goroutine.
func (r *Reporter) Close() {
	r.once.Do(func() {
		r.cancel()
		<-r.done
	})
}

func (r *Reporter) run(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.report(ctx)
		}
	}
}

// report measures the load and stores it.
func (r *Reporter) report(ctx context.Context) {
	l := r.est.measure(r.rooms.RoomStats(), r.rooms.Workers())
	r.mu.Lock()
	r.last = l
	r.mu.Unlock()
	err := r.node.SetLoad(ctx, l)
	if err != nil && ctx.Err() == nil {
		r.fails.Add(1)
		r.failLog.Warn(r.node.log, "cluster: load not stored now; it goes with the next heartbeat", "err", err)
	}
}

// weightEstimator measures a video room's cost against an audio room's
// from the rooms' tick time (room.RoomStats.Busy) between two reports.
// The unit is what Score counts one room or one participant for: the
// tick time of the audio-only rooms divided by their rooms plus their
// participants. A video room's weight is its tick time in those units,
// less the room and its participants (Score counts them already).
type weightEstimator struct {
	prev   map[room.RoomID]time.Duration // each room's Busy at the last report
	weight float64
}

func newWeightEstimator() weightEstimator {
	return weightEstimator{prev: make(map[room.RoomID]time.Duration), weight: DefaultVideoWeight}
}

// isVideo reports whether a room is sending a composite (an output with
// viewers): what makes a room cost video's price.
func isVideo(s *room.RoomStats) bool {
	for _, o := range s.VideoOutputs {
		if o.Viewers > 0 {
			return true
		}
	}
	return false
}

// measure turns a snapshot of the rooms and workers into a Load and
// updates the video weight.
func (e *weightEstimator) measure(stats []room.RoomStats, workers []room.WorkerStats) Load {
	var l Load
	var audioBusy, videoBusy time.Duration
	var audioUnits, videoRooms, videoParts int
	seen := make(map[room.RoomID]time.Duration, len(stats))
	for i := range stats {
		s := &stats[i]
		parts := s.Participants + s.Viewers
		video := isVideo(s)
		l.Rooms++
		l.Participants += parts
		if video {
			l.VideoRooms++
		}
		seen[s.ID] = s.Busy
		before, ok := e.prev[s.ID]
		if !ok || s.Busy < before {
			continue // new since the last report: no interval yet
		}
		if video {
			videoBusy += s.Busy - before
			videoRooms++
			videoParts += parts
		} else {
			audioBusy += s.Busy - before
			audioUnits += 1 + parts
		}
	}
	e.prev = seen
	if videoRooms > 0 && audioUnits > 0 && audioBusy > 0 {
		unit := float64(audioBusy) / float64(audioUnits)
		perRoom := float64(videoBusy) / float64(videoRooms) / unit
		w := perRoom - 1 - float64(videoParts)/float64(videoRooms)
		w = min(max(w, 0), maxVideoWeight)
		e.weight += weightSmoothing * (w - e.weight)
	}
	l.VideoWeight = e.weight
	if len(workers) > 0 {
		for _, w := range workers {
			l.CPU += w.BusyRatio
		}
		l.CPU /= float64(len(workers))
	}
	return l
}
