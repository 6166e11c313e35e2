package rtc

import (
	"fmt"
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// directPacer is the congestion controller's pacer when pacing is off:
// each packet goes to its stream's writer on the caller's goroutine (the
// participant's output goroutine), with no queue, timer or goroutine of
// its own. pion's leaky-bucket pacer instead queues every packet and
// sends it from a 5 ms ticker; on a video room that took about a tenth of
// the server's CPU for what the receivers' jitter buffers absorb anyway.
type directPacer struct {
	mu      sync.RWMutex
	writers map[uint32]interceptor.RTPWriter
}

func newDirectPacer() *directPacer {
	return &directPacer{writers: make(map[uint32]interceptor.RTPWriter)}
}

func (p *directPacer) AddStream(ssrc uint32, w interceptor.RTPWriter) {
	p.mu.Lock()
	p.writers[ssrc] = w
	p.mu.Unlock()
}

func (p *directPacer) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	p.mu.RLock()
	w := p.writers[h.SSRC]
	p.mu.RUnlock()
	if w == nil {
		return 0, fmt.Errorf("%w: SSRC %d", ErrUnknownStream, h.SSRC)
	}
	return w.Write(h, payload, a)
}

func (p *directPacer) SetTargetBitrate(int) {}

func (p *directPacer) Close() error { return nil }
