package events

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-mcu/tessera/internal/loglimit"
)

// Defaults of Options.
const (
	DefaultQueueLen     = 4096
	DefaultBatchMax     = 100
	DefaultBatchDelay   = 200 * time.Millisecond
	DefaultTimeout      = 5 * time.Second
	DefaultRetries      = 4
	DefaultRetryBase    = 500 * time.Millisecond
	DefaultRetryMax     = 10 * time.Second
	DefaultFlushTimeout = 3 * time.Second
)

// Options configures a Dispatcher. Zero values take the defaults.
type Options struct {
	// Backends are the URLs every event is POSTed to (http or https).
	// With none, Emit discards every event.
	Backends []string
	// Secret, if set, signs every batch (see SignatureHeader).
	Secret []byte
	// Types filters the events, as ParseMask reads it ("" is all).
	Types string
	// Emitter names this server in every event (default "Tessera").
	Emitter string
	// QueueLen bounds the events waiting for each backend; beyond it new
	// events are dropped and counted.
	QueueLen int
	// BatchMax is the most events one POST carries.
	BatchMax int
	// BatchDelay is the longest an event waits for others to share its
	// POST.
	BatchDelay time.Duration
	// Timeout bounds one POST, from connecting to reading the answer.
	Timeout time.Duration
	// Retries is how many times a batch is tried again after a failed
	// POST (0: DefaultRetries; negative: never). The wait before the n-th
	// retry is RetryBase·2^(n-1), at most RetryMax, of which a random half
	// is left out.
	Retries   int
	RetryBase time.Duration
	RetryMax  time.Duration
	// FlushTimeout bounds how long Close keeps delivering what is queued.
	FlushTimeout time.Duration
	// Client sends the POSTs (default: a client of its own).
	Client *http.Client
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&o.BatchDelay, DefaultBatchDelay}, {&o.Timeout, DefaultTimeout}, {&o.RetryBase, DefaultRetryBase},
		{&o.RetryMax, DefaultRetryMax}, {&o.FlushTimeout, DefaultFlushTimeout}} {
		if *d.v < 0 {
			return fmt.Errorf("%w: negative duration %v", ErrInvalidOptions, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if o.QueueLen < 0 || o.BatchMax < 0 {
		return fmt.Errorf("%w: queue %d, batch %d", ErrInvalidOptions, o.QueueLen, o.BatchMax)
	}
	if o.QueueLen == 0 {
		o.QueueLen = DefaultQueueLen
	}
	if o.BatchMax == 0 {
		o.BatchMax = DefaultBatchMax
	}
	switch {
	case o.Retries == 0:
		o.Retries = DefaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.Emitter == "" {
		o.Emitter = "Tessera"
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// CheckBackend reports whether u can be a backend: an absolute http or
// https URL.
func CheckBackend(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("%w: %q (want http://host[:port]/path or https://...)", ErrInvalidBackend, u)
	}
	return nil
}

// Stats counts what became of the events. An event goes to every
// backend, and is counted once per backend.
type Stats struct {
	// Queued: taken into a backend's queue.
	Queued uint64
	// Sent: delivered (the backend answered 2xx).
	Sent uint64
	// Dropped: never sent, because the queue was full, the dispatcher was
	// closed, or Close's flush ran out of time.
	Dropped uint64
	// Failed: in a batch the backend refused (4xx other than 408 and 429)
	// or that failed every try.
	Failed uint64
	// Retried: POSTs tried again after a failure.
	Retried uint64
}

// Dispatcher delivers events to HTTP backends in Janus's event handler
// format: JSON arrays of events, POSTed in batches. Emit never blocks:
// each backend has a bounded queue, and an event that does not fit is
// dropped and counted. One goroutine per backend batches, POSTs and
// retries; Close waits for them.
type Dispatcher struct {
	opts     Options
	types    Mask
	backends []*backend

	// mu orders Emit with Close: once closed, nothing is queued.
	mu     sync.RWMutex
	closed bool
	stop   chan struct{}
	// ctx ends every POST and retry wait when Close's flush runs out.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	queued, sent, dropped, failed, retried atomic.Uint64
	dropLog                                loglimit.Limiter
}

// New checks the options and starts one goroutine per backend.
func New(opts Options) (*Dispatcher, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	types, err := ParseMask(opts.Types)
	if err != nil {
		return nil, err
	}
	for _, u := range opts.Backends {
		if err := CheckBackend(u); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{opts: opts, types: types, stop: make(chan struct{}), ctx: ctx, cancel: cancel}
	for _, u := range opts.Backends {
		b := &backend{d: d, url: u, q: make(chan Event, opts.QueueLen)}
		d.backends = append(d.backends, b)
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			b.run()
		}()
	}
	return d, nil
}

// Emit queues an event for every backend, unless its type is filtered
// out. It never blocks; an event a backend's queue cannot take is
// dropped and counted. Emit fills in the emitter and, when zero, the
// timestamp. A nil Dispatcher takes nothing.
func (d *Dispatcher) Emit(e Event) {
	if d == nil || !d.types.Has(e.Type) {
		return
	}
	if e.Timestamp == 0 {
		e.Timestamp = time.Now().UnixMicro()
	}
	e.Emitter = d.opts.Emitter
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		d.dropped.Add(uint64(len(d.backends)))
		return
	}
	for _, b := range d.backends {
		select {
		case b.q <- e:
			d.queued.Add(1)
		default:
			n := d.dropped.Add(1)
			d.dropLog.Warn(d.opts.Logger, "event queue full; dropping events", "backend", b.url, "dropped", n)
		}
	}
}

// Wants reports whether events of type t pass the filter (and there is a
// backend to send them to).
func (d *Dispatcher) Wants(t Type) bool {
	return d != nil && len(d.backends) > 0 && d.types.Has(t)
}

// Stats reports the counts so far.
func (d *Dispatcher) Stats() Stats {
	if d == nil {
		return Stats{}
	}
	return Stats{Queued: d.queued.Load(), Sent: d.sent.Load(), Dropped: d.dropped.Load(),
		Failed: d.failed.Load(), Retried: d.retried.Load()}
}

// Close stops taking events, keeps delivering what is queued for at most
// Options.FlushTimeout (what is left then is dropped and counted), and
// returns once every backend's goroutine has ended.
func (d *Dispatcher) Close() {
	if d == nil {
		return
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	d.mu.Unlock()
	close(d.stop)
	deadline := time.AfterFunc(d.opts.FlushTimeout, d.cancel)
	d.wg.Wait()
	deadline.Stop()
	d.cancel()
}
