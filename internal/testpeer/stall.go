package testpeer

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StallProbe watches for moments when the whole machine stops running
// this process: on a shared virtual machine the host takes the CPU away
// now and then (steal time), for tens or hundreds of milliseconds, and
// every goroutine, the server's included, stands still. A test that times
// the server can then tell those stalls from its own. The probe sleeps in
// short steps and records a step that overslept by more than its
// threshold as a stall only when the kernel counted steal time in it
// (/proc/stat): an overloaded process (the server's own fault) oversleeps
// too, but steals nothing.
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
	stallStep      = 5 * time.Millisecond
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
	last, lastSteal := time.Now(), steal()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			now, stolen := time.Now(), steal()
			if gap := now.Sub(last); gap > stallStep+stallThreshold && stolen > lastSteal {
				p.mu.Lock()
				p.stalls = append(p.stalls, Stall{From: last, To: now})
				p.mu.Unlock()
			}
			last, lastSteal = now, stolen
		}
	}
}

// steal is the machine's steal time so far, in clock ticks (0 where the
// kernel does not tell).
func steal() uint64 {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	var buf [256]byte
	n, _ := f.Read(buf[:])
	line, _, _ := strings.Cut(string(buf[:n]), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0
	}
	v, _ := strconv.ParseUint(fields[8], 10, 64)
	return v
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

// stallBurst: stalls less than this apart count as one. Between them the
// machine runs for moments too short to catch up on what the first one
// cost, so a server is late by their sum.
const stallBurst = 100 * time.Millisecond

// Longest is the longest burst of stalls within [from, to] (0 if none):
// the summed length of stalls less than stallBurst apart. total is the
// summed length of all of them (each counted only where it overlaps the
// interval).
func (p *StallProbe) Longest(from, to time.Time) (longest, total time.Duration) {
	var burst time.Duration
	var lastEnd time.Time
	for _, s := range p.Stalls(from, to) {
		if s.From.Before(from) {
			s.From = from
		}
		if s.To.After(to) {
			s.To = to
		}
		if lastEnd.IsZero() || s.From.Sub(lastEnd) >= stallBurst {
			burst = 0
		}
		burst += s.Len()
		lastEnd = s.To
		longest = max(longest, burst)
		total += s.Len()
	}
	return longest, total
}
