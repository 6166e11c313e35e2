package room

import (
	"fmt"
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
	layer   *layer    // the camera's layer it belongs to
	reset   bool      // the first frame of another layer: a new decoder
}

// decodePool decodes video on worker threads pinned to cores, driven by
// packet arrival. Each input is bound to one worker, so its decoder is only
// ever used from one thread and needs no lock.
type decodePool struct {
	workers []*decodeWorker
	mu      sync.Mutex
	wg      sync.WaitGroup
}

type decodeWorker struct {
	jobs   chan decodeJob
	done   chan struct{}
	frames *codec.FramePool
	inputs int
	limits InputLimits
}

// InputLimits bound what one camera may cost the decode workers.
type InputLimits struct {
	// MaxWidth and MaxHeight bound an input picture's size, in either
	// orientation (a 1080x1920 portrait camera fits 1920x1080). Key
	// frames beyond them are dropped before decoding, with the frames
	// that follow them, and counted; the sender is asked for a keyframe
	// and told a lower bitrate (REMB). Default 1920x1080.
	MaxWidth, MaxHeight int
	// DecodeBudget is the share of one core an input's decoding may use,
	// over each second (default 0.35). Beyond it, the input's frames are
	// dropped for the rest of that second and counted; it resumes at a
	// keyframe.
	DecodeBudget float64
}

func (l *InputLimits) setDefaults() error {
	if l.MaxWidth == 0 && l.MaxHeight == 0 {
		l.MaxWidth, l.MaxHeight = 1920, 1080
	}
	if l.DecodeBudget == 0 {
		l.DecodeBudget = 0.35
	}
	if l.MaxWidth < 16 || l.MaxHeight < 16 || l.DecodeBudget < 0 || l.DecodeBudget > 1 {
		return fmt.Errorf("%w: input limits %dx%d, decode budget %.2f (sizes >= 16, budget 0..1)",
			ErrInvalidConfig, l.MaxWidth, l.MaxHeight, l.DecodeBudget)
	}
	return nil
}

// fits reports whether a w x h picture is within the limits, in either
// orientation.
func (l InputLimits) fits(w, h int) bool {
	long, short := max(l.MaxWidth, l.MaxHeight), min(l.MaxWidth, l.MaxHeight)
	return max(w, h) <= long && min(w, h) <= short
}

func newDecodePool(n int, pin bool, limits InputLimits, log *slog.Logger) *decodePool {
	cpus := processCPUs
	if n <= 0 {
		n = len(cpus)
	}
	p := &decodePool{}
	for i := range n {
		w := &decodeWorker{jobs: make(chan decodeJob, decodeQueueLen), done: make(chan struct{}), frames: codec.NewFramePool(16), limits: limits}
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
	j.in.decode(j.data, j.arrived, j.layer, j.reset, w.frames)
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
