package room

import (
	"log/slog"
	"sync"
	"time"

	"github.com/tessera-mcu/tessera/codec"
)

// decodeQueueLen bounds the frames waiting for one decode worker.
const decodeQueueLen = 64

type decodeJob struct {
	in      *videoInput
	data    []byte
	arrived time.Time // the frame's first packet
}

// decodePool decodes video on worker threads pinned to cores, driven by
// packet arrival. Each input is bound to one worker, so its decoder is only
// ever used from one thread and needs no lock.
type decodePool struct {
	workers []*decodeWorker
	mu      sync.Mutex
	next    int
	wg      sync.WaitGroup
}

type decodeWorker struct {
	jobs   chan decodeJob
	done   chan struct{}
	frames *codec.FramePool
	inputs int
}

func newDecodePool(n int, pin bool, log *slog.Logger) *decodePool {
	cpus := processCPUs
	if n <= 0 {
		n = len(cpus)
	}
	p := &decodePool{}
	for i := range n {
		w := &decodeWorker{jobs: make(chan decodeJob, decodeQueueLen), done: make(chan struct{}), frames: codec.NewFramePool(16)}
		p.workers = append(p.workers, w)
		cpu := -1
		if pin && len(cpus) > 0 {
			cpu = cpus[i%len(cpus)]
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			w.run(cpu, log)
		}()
	}
	return p
}

func (w *decodeWorker) run(cpu int, log *slog.Logger) {
	if err := lockThread(cpu); err != nil {
		log.Warn("cannot pin decode worker; running unpinned", "cpu", cpu, "err", err)
	}
	for {
		select {
		case j := <-w.jobs:
			w.decode(j, log)
		case <-w.done:
			return
		}
	}
}

// decode decodes one job. A panic in it ends that input (its tile keeps
// its last picture), not the worker and its other inputs.
func (w *decodeWorker) decode(j decodeJob, log *slog.Logger) {
	defer func() {
		if v := recover(); v != nil {
			j.in.fail(recovered(v, &panics.decode, log, "video decode panicked; ending the input", "codec", j.in.codec))
		}
	}()
	j.in.decode(j.data, j.arrived, w.frames)
}

// bind assigns an input to the worker with the fewest inputs.
func (p *decodePool) bind() *decodeWorker {
	p.mu.Lock()
	defer p.mu.Unlock()
	best := p.workers[0]
	for _, w := range p.workers[1:] {
		if w.inputs < best.inputs {
			best = w
		}
	}
	best.inputs++
	return best
}

func (p *decodePool) unbind(w *decodeWorker) {
	p.mu.Lock()
	w.inputs--
	p.mu.Unlock()
}

// submit queues a frame; false means the worker is saturated and the frame
// was dropped.
func (w *decodeWorker) submit(j decodeJob) bool {
	select {
	case w.jobs <- j:
		return true
	default:
		return false
	}
}

// close stops the workers. Inputs still submitting just fill the queues.
func (p *decodePool) close() {
	for _, w := range p.workers {
		close(w.done)
	}
	p.wg.Wait()
}
