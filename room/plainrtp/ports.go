package plainrtp

import (
	"fmt"
	"sync"
)

// ports hands out the media port pairs of a range: an even port for RTP,
// the next one for RTCP. It goes round the range, so that a pair just
// given back is the last to be taken again (late packets of an ended call
// do not reach the next one).
type ports struct {
	min   int
	mu    sync.Mutex
	inUse []bool // per pair
	next  int    // pair to look at first
	used  int
}

// newPorts covers the pairs within min..max (min even).
func newPorts(min, max int) *ports {
	return &ports{min: min, inUse: make([]bool, (max-min+1)/2)}
}

// take reserves a free pair and returns its RTP port.
func (p *ports) take() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.inUse)
	for i := range n {
		k := (p.next + i) % n
		if !p.inUse[k] {
			p.inUse[k] = true
			p.used++
			p.next = (k + 1) % n
			return p.min + 2*k, nil
		}
	}
	return 0, fmt.Errorf("%w: all %d pairs from port %d are in use", ErrNoPorts, n, p.min)
}

// give returns the pair of RTP port port.
func (p *ports) give(port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := (port - p.min) / 2
	if k >= 0 && k < len(p.inUse) && p.inUse[k] {
		p.inUse[k] = false
		p.used--
	}
}

// pairs is how many pairs the range holds and how many are taken.
func (p *ports) pairs() (total, used int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.inUse), p.used
}
