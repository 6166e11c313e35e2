package rtmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-mcu/tessera/codec/aac"
	"github.com/tessera-mcu/tessera/internal/loglimit"
)

// Pusher publishes a room's composite (H.264) and full mix (encoded to
// AAC-LC here) to one RTMP or RTMPS ingest, reconnecting when it drops.
// WriteVideo and WriteAudio only queue; a goroutine of the Pusher's own
// encodes, muxes and sends. It implements the room's StreamSink.
type Pusher struct {
	opts   Options
	target target
	log    *slog.Logger

	queue   chan item
	wantKey chan struct{} // a Write* dropped video: ask for a keyframe
	closing chan struct{}
	ctx     context.Context // cancelled by Close: aborts a connection attempt
	cancel  context.CancelFunc
	once    sync.Once
	closed  atomic.Bool
	wg      sync.WaitGroup // the run goroutine and every goroutine it starts

	// wmu guards the caller's side: Write* are meant to be called from
	// one goroutine, but a second one must not corrupt the skip state.
	wmu      sync.Mutex
	skipping bool // a video frame was dropped: drop until a keyframe

	// Owned by the run goroutine.
	enc      *aac.Encoder
	asc      []byte
	attempt  int
	dropLogs loglimit.Limiter

	videoSent, audioSent, bytes  atomic.Uint64
	dropped, skipped, reconnects atomic.Uint64
	mu                           sync.Mutex // guards state and lastErr
	state                        State
	lastErr                      error
}

// New checks rawURL (rtmp:// or rtmps://, the stream key as the last path
// segment, e.g. rtmp://host/live/streamkey) and opts, and starts pushing:
// the first connection attempt begins at once. Media written before it
// is up is skipped; the push starts on the first keyframe after it.
func New(rawURL string, opts Options) (*Pusher, error) {
	t, err := parseTarget(rawURL)
	if err != nil {
		return nil, err
	}
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	enc, err := aac.NewEncoder(aac.EncoderConfig{Bitrate: opts.AudioBitrate})
	if err != nil {
		return nil, fmt.Errorf("%w: audio: %w", ErrBadOptions, err)
	}
	asc, err := aac.AudioSpecificConfig(enc.Config().SampleRate, enc.Config().Channels)
	if err != nil {
		enc.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pusher{
		opts:    opts,
		target:  t,
		log:     opts.Logger.With("url", t.redacted),
		queue:   make(chan item, opts.QueueSize),
		wantKey: make(chan struct{}, 1),
		closing: make(chan struct{}),
		ctx:     ctx,
		cancel:  cancel,
		enc:     enc,
		asc:     asc,
		state:   StateConnecting,
	}
	p.wg.Add(1)
	go p.run()
	return p, nil
}

// WriteVideo queues one H.264 access unit (Annex B; a keyframe must carry
// its SPS and PPS) whose presentation time is pts. It copies au and never
// blocks: when the queue is full the frame is dropped and counted, and so
// is every later video frame until the next keyframe. The only error is
// ErrClosed.
func (p *Pusher) WriteVideo(au []byte, keyframe bool, pts time.Duration) error {
	if p.closed.Load() {
		return ErrClosed
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.skipping && !keyframe {
		p.dropped.Add(1)
		return nil
	}
	it := item{kind: kindVideo, key: keyframe, pts: pts, data: copyBytes(au)}
	select {
	case p.queue <- it:
		p.skipping = false
	default:
		it.release()
		p.dropped.Add(1)
		p.skipping = true
		select {
		case p.wantKey <- struct{}{}:
		default:
		}
	}
	return nil
}

// WriteAudio queues 20 ms (any length, in fact) of the full mix: 48 kHz
// mono signed 16-bit PCM whose first sample plays at pts. It copies pcm
// and never blocks: when the queue is full the chunk is dropped and
// counted. The only error is ErrClosed.
func (p *Pusher) WriteAudio(pcm []int16, pts time.Duration) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if len(pcm) == 0 {
		return nil
	}
	it := item{kind: kindAudio, pts: pts, pcm: copyPCM(pcm)}
	select {
	case p.queue <- it:
	default:
		it.release()
		p.dropped.Add(1)
	}
	return nil
}

// Close stops the push: what is already queued is still sent (for at most
// two seconds), then the connection is closed, the state becomes
// StateStopped, and Close returns once every goroutine of the Pusher has
// ended. It may be called more than once.
func (p *Pusher) Close() error {
	p.once.Do(func() {
		p.closed.Store(true)
		close(p.closing)
		// A connection attempt in flight is abandoned; a connection that
		// is streaming drains the queue first (see session.run).
		p.cancel()
	})
	p.wg.Wait()
	return nil
}

// Target is the push URL without its stream key and password
// (rtmp://host/app/…), fit for logs, events and room listings.
func (p *Pusher) Target() string { return p.target.redacted }

// State is the current state.
func (p *Pusher) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// Stats returns the counters so far.
func (p *Pusher) Stats() Stats {
	p.mu.Lock()
	st, lastErr := p.state, p.lastErr
	p.mu.Unlock()
	return Stats{
		State:       st,
		VideoFrames: p.videoSent.Load(),
		AudioFrames: p.audioSent.Load(),
		Bytes:       p.bytes.Load(),
		Dropped:     p.dropped.Load(),
		Skipped:     p.skipped.Load(),
		Reconnects:  p.reconnects.Load(),
		LastError:   lastErr,
	}
}

// errStopping ends a session because Close was called.
var errStopping = errors.New("rtmp: stopping")

// run connects, streams and reconnects with backoff until Close.
func (p *Pusher) run() {
	defer p.wg.Done()
	defer p.enc.Close()
	backoff := p.opts.MinBackoff
	for {
		p.attempt++
		p.setState(StateConnecting, nil, 0)
		c, err := p.connect()
		if p.isClosing() {
			if c != nil {
				c.Close()
			}
			break
		}
		if err == nil {
			var streamed time.Duration
			streamed, err = p.stream(c)
			if errors.Is(err, errStopping) {
				break
			}
			if streamed >= stableAfter {
				backoff = p.opts.MinBackoff
			}
		}
		p.reconnects.Add(1)
		p.setError(err)
		p.setState(StateReconnecting, err, backoff)
		if !p.wait(backoff) {
			break
		}
		backoff = min(2*backoff, p.opts.MaxBackoff)
	}
	p.setState(StateStopped, nil, 0)
}

func (p *Pusher) isClosing() bool {
	select {
	case <-p.closing:
		return true
	default:
		return false
	}
}

// wait sleeps d, discarding what is queued meanwhile; false if Close was
// called.
func (p *Pusher) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case <-p.closing:
			return false
		case it := <-p.queue:
			p.skip(it)
		case <-p.wantKey:
			// Nothing to resume yet; the next connection asks anyway.
		}
	}
}

// skip discards a frame the Pusher cannot send.
func (p *Pusher) skip(it item) {
	p.skipped.Add(1)
	it.release()
}

func (p *Pusher) requestKeyframe() {
	if p.opts.RequestKeyframe != nil {
		p.opts.RequestKeyframe()
	}
}

func (p *Pusher) setError(err error) {
	p.mu.Lock()
	p.lastErr = err
	p.mu.Unlock()
}

// setState records and reports a state change.
func (p *Pusher) setState(s State, err error, retry time.Duration) {
	p.mu.Lock()
	p.state = s
	p.mu.Unlock()
	switch s {
	case StateReconnecting:
		p.log.Warn("rtmp push: connection failed, retrying", "attempt", p.attempt, "err", err, "retry_in", retry)
	case StateStreaming:
		p.log.Info("rtmp push: streaming", "attempt", p.attempt)
	case StateStopped:
		st := p.Stats()
		p.log.Info("rtmp push: stopped", "video_frames", st.VideoFrames, "audio_frames", st.AudioFrames,
			"bytes", st.Bytes, "dropped", st.Dropped, "reconnects", st.Reconnects)
	}
	if p.opts.OnState != nil {
		p.opts.OnState(StateChange{State: s, Attempt: p.attempt, Err: err, Retry: retry, At: time.Now()})
	}
}
