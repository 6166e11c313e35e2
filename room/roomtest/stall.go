package roomtest

import (
	"sync"
	"time"
)

// StallProbe watches for moments when the whole machine stops running
// this process: on a shared virtual machine the host takes the CPU away
// now and then (steal time), for tens or hundreds of milliseconds, and
// every goroutine, the server's included, stands still. A test that times
// the server can then tell those stalls from its own. The probe sleeps in
// short steps and records every step that overslept by more than its
// threshold.
type StallProbe struct {
	mu     sync.Mutex
	stalls []Stall
	stop   chan struct{}
	done   chan struct{}
}

// Stall is one interval in which the probe did not run.
type Stall struct {
	From, To time.Time
}

// Len is how long the stall lasted.
func (s Stall) Len() time.Duration { return s.To.Sub(s.From) }

// stallStep is the probe's sleep; stallThreshold the oversleep that counts
// as a stall.
const (
	stallStep      = 2 * time.Millisecond
	stallThreshold = 25 * time.Millisecond
)

// NewStallProbe starts a probe; Stop it when done.
func NewStallProbe() *StallProbe {
	p := &StallProbe{stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *StallProbe) run() {
	defer close(p.done)
	t := time.NewTicker(stallStep)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			now = time.Now()
			if gap := now.Sub(last); gap > stallStep+stallThreshold {
				p.mu.Lock()
				p.stalls = append(p.stalls, Stall{From: last, To: now})
				p.mu.Unlock()
			}
			last = now
		}
	}
}

// Stop ends the probe.
func (p *StallProbe) Stop() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// Stalls returns the stalls that overlap [from, to].
func (p *StallProbe) Stalls(from, to time.Time) []Stall {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Stall
	for _, s := range p.stalls {
		if s.To.After(from) && s.From.Before(to) {
			out = append(out, s)
		}
	}
	return out
}

// Longest is the longest stall overlapping [from, to] (0 if none), and
// Total their summed length.
func (p *StallProbe) Longest(from, to time.Time) (longest, total time.Duration) {
	for _, s := range p.Stalls(from, to) {
		longest = max(longest, s.Len())
		total += s.Len()
	}
	return longest, total
}
