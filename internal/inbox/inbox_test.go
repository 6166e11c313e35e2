package inbox

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// A wait takes the first match and holds what it passed over, in order;
// the next wait finds a held message without reading the channel, and
// reads on for one not held yet.
func TestWaitHoldsWhatItPassesOver(t *testing.T) {
	c := make(chan int, 8)
	for _, v := range []int{1, 2, 3, 4, 5} {
		c <- v
	}
	b := New(c)
	even := func(v int) bool { return v%2 == 0 }
	if v, err := b.Wait(time.Second, even); err != nil || v != 2 {
		t.Fatalf("first even: %v %v", v, err)
	}
	if v, err := b.Wait(time.Second, func(v int) bool { return v == 1 }); err != nil || v != 1 {
		t.Fatalf("the held 1: %v %v", v, err)
	}
	if v, err := b.Wait(time.Second, even); err != nil || v != 4 {
		t.Fatalf("second even: %v %v", v, err)
	}
	if got := b.Held(); !slices.Equal(got, []int{3}) {
		t.Fatalf("held %v, want [3]", got)
	}
	if v, err := b.Wait(time.Second, func(v int) bool { return v > 2 }); err != nil || v != 3 {
		t.Fatalf("the oldest match is the held 3: %v %v", v, err)
	}
	if got := b.Held(); len(got) != 0 {
		t.Fatalf("held %v after taking it", got)
	}
}

// A wait ends with ErrTimeout when nothing matches in time, ErrClosed
// when the channel closes; what it read meanwhile stays held.
func TestWaitEnds(t *testing.T) {
	c := make(chan string, 4)
	b := New(c)
	c <- "a"
	start := time.Now()
	if _, err := b.Wait(50*time.Millisecond, func(s string) bool { return s == "z" }); !errors.Is(err, ErrTimeout) {
		t.Fatalf("no match: %v", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("timed out after %v", d)
	}
	c <- "b"
	close(c)
	if _, err := b.Wait(time.Second, func(s string) bool { return s == "z" }); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed: %v", err)
	}
	if got := b.Held(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("held %v", got)
	}
	if s, err := b.Wait(time.Second, func(s string) bool { return s == "b" }); err != nil || s != "b" {
		t.Fatalf("a held message after the close: %q %v", s, err)
	}
}
