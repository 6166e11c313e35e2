package room

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A worker whose tick does not return is reported as stalled within
// StallLimit and a little; once it ticks again, it is not. Idle workers
// are never stalled.
func TestStalledWorker(t *testing.T) {
	m := newManager(t)
	time.Sleep(2 * StallLimit)
	if err := m.Stalled(); err != nil {
		t.Fatalf("idle workers reported stalled: %v", err)
	}
	r, err := m.Create(Config{Video: VideoConfig{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	var hold atomic.Bool
	hold.Store(true)
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { hold.Store(false); close(release) }) }
	t.Cleanup(free) // before the manager closes: its worker must come back
	setHook(t, &testHooks.tick, func(x *Room) {
		if x == r && hold.Load() {
			<-release
		}
	})
	if !eventually(3*StallLimit, func() bool { return errors.Is(m.Stalled(), ErrStalled) }) {
		t.Fatal("a worker stuck in a tick was not reported")
	}
	free()
	if !eventually(3*StallLimit, func() bool { return m.Stalled() == nil }) {
		t.Fatalf("the worker ticks again but is still reported: %v", m.Stalled())
	}
}
