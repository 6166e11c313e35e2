package testpeer

import (
	"testing"
	"time"
)

// Stalls close together add up to one burst; ones far apart do not, and
// only the part inside the interval counts.
func TestStallBursts(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	p := &StallProbe{stalls: []Stall{
		{at(0), at(40)},     // a burst of three: 40+30+50 ms
		{at(90), at(120)},   //
		{at(200), at(250)},  //
		{at(600), at(660)},  // alone: 60 ms
		{at(900), at(1000)}, // half inside the interval
	}}
	longest, total := p.Longest(at(0), at(950))
	if longest != 120*time.Millisecond || total != 230*time.Millisecond {
		t.Errorf("longest %v, total %v; want 120ms and 230ms", longest, total)
	}
	if longest, _ := p.Longest(at(300), at(700)); longest != 60*time.Millisecond {
		t.Errorf("a lone stall: longest %v, want 60ms", longest)
	}
	if longest, total := p.Longest(at(1100), at(1200)); longest != 0 || total != 0 {
		t.Errorf("no stall: %v, %v", longest, total)
	}
}
