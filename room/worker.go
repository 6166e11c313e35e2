package room

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// ticker is a room as a worker sees it: something with a deadline that does
// its due work when called.
type ticker interface {
	// tick does whatever work is due at now and returns when the next work
	// is due.
	tick(now time.Time) time.Time
	// cost estimates the room's CPU load (for assigning rooms to workers).
	cost() int64
	// place tells the room its placement, before its first tick, so that
	// every later cost change reaches its worker's load.
	place(pl *placement)
	// fail tells the room that its tick panicked: the worker no longer
	// runs it, and the room must end. It must not block.
	fail(err error)
}

// worker is one OS thread, pinned to a CPU core when the system allows it,
// that runs the ticks of the rooms assigned to it. A room lives on exactly
// one worker, so its tick state needs no locks.
type worker struct {
	id     int
	cpu    int // -1: unpinned
	add    chan ticker
	remove chan ticker
	rooms  []ticker
	load   atomic.Int64 // sum of assigned rooms' cost at assignment
	count  atomic.Int32
	pinned atomic.Bool
	// beat is when the worker last went round its loop (unix
	// nanoseconds): it does at least every workerBeat, rooms or not.
	beat atomic.Int64
	// meter measures the worker's ticks (see WorkerStats).
	meter workerMeter
}

// workerPool spreads rooms over workers by cost.
type workerPool struct {
	workers []*worker
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	// mu orders assignments and removals. It is held while a room is
	// handed to or taken from a worker, so nothing a worker thread runs
	// (a room's tick) may take it.
	mu   sync.Mutex
	home map[ticker]*placement
}

// placement is a room's share of its worker's load. A room adjusts it as
// its cost changes, from any goroutine (its own worker's included), without
// the pool's lock.
type placement struct {
	mu     sync.Mutex
	w      *worker // nil once the room left the worker
	weight int64
}

// adjust changes the room's weight on its worker by delta.
func (pl *placement) adjust(delta int64) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.w != nil {
		pl.weight += delta
		pl.w.load.Add(delta)
	}
}

// release takes the room's whole weight off its worker.
func (pl *placement) release() *worker {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	w := pl.w
	if w != nil {
		w.load.Add(-pl.weight)
		pl.w, pl.weight = nil, 0
	}
	return w
}

// processCPUs are the cores the process may use, read once at start-up:
// later, any thread's affinity (the main thread's included, which a worker
// may have locked and pinned) can be a single core.
var processCPUs = allowedCPUs()

// allowedCPUs lists the cores the calling thread may run on.
func allowedCPUs() []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		cpus := make([]int, runtime.NumCPU())
		for i := range cpus {
			cpus[i] = i
		}
		return cpus
	}
	var cpus []int
	for i := 0; i < 1024 && len(cpus) < set.Count(); i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	return cpus
}

// lockThread locks the calling goroutine to its OS thread for good and,
// when cpu >= 0, pins the thread to that core. The thread is never
// unlocked: when the goroutine returns, Go destroys it rather than hand a
// thread pinned to one core to other goroutines.
func lockThread(cpu int) error {
	runtime.LockOSThread()
	if cpu < 0 {
		return nil
	}
	var set unix.CPUSet
	set.Set(cpu)
	return unix.SchedSetaffinity(0, &set)
}

// newWorkerPool starts n workers (n <= 0: one per allowed core), pinned to
// cores round-robin unless pin is false.
func newWorkerPool(n int, pin bool, log *slog.Logger) *workerPool {
	if n <= 0 {
		n = len(processCPUs)
	}
	var cpus []int
	if pin {
		cpus = processCPUs
	}
	return startWorkers(n, cpus, log)
}

// startWorkers starts n workers pinned to the listed cores round-robin
// (none listed: unpinned).
func startWorkers(n int, cpus []int, log *slog.Logger) *workerPool {
	ctx, cancel := context.WithCancel(context.Background())
	p := &workerPool{cancel: cancel, home: make(map[ticker]*placement)}
	ready := make(chan struct{}, n)
	for i := range n {
		w := &worker{id: i, cpu: -1, add: make(chan ticker), remove: make(chan ticker)}
		if len(cpus) > 0 {
			w.cpu = cpus[i%len(cpus)]
		}
		p.workers = append(p.workers, w)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			w.run(ctx, log, ready)
		}()
	}
	for range n {
		<-ready
	}
	pinned := 0
	for _, w := range p.workers {
		if w.pinned.Load() {
			pinned++
		}
	}
	log.Info("workers started", "workers", n, "pinned", pinned, "cpus", len(cpus))
	return p
}

func (w *worker) run(ctx context.Context, log *slog.Logger, ready chan<- struct{}) {
	if err := lockThread(w.cpu); err != nil {
		log.Warn("cannot pin worker to core; running unpinned", "worker", w.id, "cpu", w.cpu, "err", err)
	} else {
		w.pinned.Store(w.cpu >= 0)
	}
	ready <- struct{}{}

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	next := make(map[ticker]time.Time)
	for {
		// Run every room that is due, then sleep until the earliest next
		// deadline.
		now := time.Now()
		w.beat.Store(now.UnixNano())
		w.meter.window(now)
		wake := now.Add(workerBeat)
		failed := false
		for i, r := range w.rooms {
			at := next[r]
			if !at.After(now) {
				start := time.Now()
				due := at
				var ok bool
				at, ok = w.tick(r, now, log)
				w.meter.ran(due, start, time.Since(start))
				if !ok {
					w.rooms[i], failed = nil, true
					continue
				}
				next[r] = at
			}
			if at.Before(wake) {
				wake = at
			}
		}
		if failed {
			w.dropFailed(next)
		}
		timer.Reset(time.Until(wake))
		select {
		case <-ctx.Done():
			return
		case r := <-w.add:
			w.rooms = append(w.rooms, r)
			next[r] = time.Time{}
			w.count.Add(1)
		case r := <-w.remove:
			for i, x := range w.rooms {
				if x == r {
					w.rooms = append(w.rooms[:i], w.rooms[i+1:]...)
					w.count.Add(-1)
					break
				}
			}
			delete(next, r)
		case <-timer.C:
		}
	}
}

// tick runs one room's tick. A panic in it is recovered: the room is
// told it failed and false is returned, and the worker's other rooms go
// on.
func (w *worker) tick(r ticker, now time.Time, log *slog.Logger) (next time.Time, ok bool) {
	defer func() {
		if v := recover(); v != nil {
			err := recovered(v, &panics.tick, log, "room tick panicked; ending the room", "worker", w.id)
			ok = false
			r.fail(err)
		}
	}()
	return r.tick(now), true
}

// dropFailed takes the rooms whose tick panicked (nil in w.rooms) off the
// worker. Their removal through the pool, which follows, finds them gone.
func (w *worker) dropFailed(next map[ticker]time.Time) {
	kept := w.rooms[:0]
	for _, r := range w.rooms {
		if r != nil {
			kept = append(kept, r)
		}
	}
	clear(w.rooms[len(kept):])
	w.count.Add(int32(len(kept) - len(w.rooms)))
	w.rooms = kept
	for r := range next {
		if !slices.Contains(w.rooms, r) {
			delete(next, r)
		}
	}
}

// workerBeat is the longest a worker sleeps: an idle worker still shows
// it is alive (see stalled).
const workerBeat = 250 * time.Millisecond

// stalled returns an error naming the first worker that has not gone
// round its loop for longer than limit (a tick that never ends, or a
// thread the machine does not run).
func (p *workerPool) stalled(limit time.Duration) error {
	now := time.Now()
	for _, w := range p.workers {
		if beat := w.beat.Load(); beat != 0 {
			if age := now.Sub(time.Unix(0, beat)); age > limit {
				return fmt.Errorf("%w: worker %d has not ticked for %v", ErrStalled, w.id, age.Round(time.Millisecond))
			}
		}
	}
	return nil
}

// assign puts a room on the least loaded worker and returns its
// placement, through which the room reports cost changes.
func (p *workerPool) assign(r ticker) (*placement, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	best := p.workers[0]
	for _, w := range p.workers[1:] {
		if w.load.Load() < best.load.Load() ||
			(w.load.Load() == best.load.Load() && w.count.Load() < best.count.Load()) {
			best = w
		}
	}
	// The cost is read before the room learns its placement: a change in
	// between is missed rather than counted twice.
	weight := max(r.cost(), 1)
	pl := &placement{w: best}
	r.place(pl)
	pl.adjust(weight)
	p.home[r] = pl
	// Sent under the lock, so that a removal of the same room can never
	// reach the worker before the room does.
	best.add <- r
	return pl, best.id
}

// unassign takes a room off its worker. When it returns, the worker is no
// longer running the room's tick and never will again.
func (p *workerPool) unassign(r ticker) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pl, ok := p.home[r]
	delete(p.home, r)
	if !ok {
		return
	}
	if w := pl.release(); w != nil {
		w.remove <- r
	}
}

// workerStats describes one worker.
type workerStats struct {
	ID     int
	CPU    int
	Pinned bool
	Rooms  int
	Load   int64
}

func (p *workerPool) stats() []workerStats {
	out := make([]workerStats, len(p.workers))
	for i, w := range p.workers {
		out[i] = workerStats{ID: w.id, CPU: w.cpu, Pinned: w.pinned.Load(), Rooms: int(w.count.Load()),
			Load: w.load.Load()}
	}
	return out
}

func (p *workerPool) close() {
	p.cancel()
	p.wg.Wait()
}

func (s workerStats) String() string {
	return fmt.Sprintf("worker %d cpu %d pinned %v rooms %d load %d", s.ID, s.CPU, s.Pinned, s.Rooms, s.Load)
}
