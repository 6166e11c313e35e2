package sip

import (
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// floodLimit is a token bucket of INVITEs per source address. Buckets
// idle long enough to be full again are dropped once the map grows.
type floodLimit struct {
	rate  rate.Limit
	burst int
	off   bool

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// pruneBuckets is how many source addresses the limiter holds before it
// drops the full buckets.
const pruneBuckets = 4096

func newFloodLimit(perSecond float64, burst int) *floodLimit {
	return &floodLimit{rate: rate.Limit(perSecond), burst: burst, off: perSecond < 0, buckets: map[string]*rate.Limiter{}}
}

// allow takes a token for source (host:port; the port is ignored) and
// reports whether there was one and, if not, when the next one comes.
func (f *floodLimit) allow(source string, now time.Time) (bool, time.Duration) {
	if f.off {
		return true, 0
	}
	host, _, err := net.SplitHostPort(source)
	if err != nil {
		host = source
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.buckets[host]
	if b == nil {
		if len(f.buckets) >= pruneBuckets {
			for k, v := range f.buckets {
				if v.TokensAt(now) >= float64(f.burst) {
					delete(f.buckets, k)
				}
			}
		}
		b = rate.NewLimiter(f.rate, f.burst)
		f.buckets[host] = b
	}
	r := b.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
