// Package inbox waits on a channel of messages for the first one a
// caller is looking for. Messages passed over while waiting are held, in
// the order they came, and a later wait looks at them first: a test
// client waiting for its "done" does not lose the "leaving" that came
// just before it. An Inbox belongs to one goroutine.
package inbox

import "time"

// Inbox reads one channel for one goroutine.
type Inbox[M any] struct {
	c    <-chan M
	held []M
}

// New returns an Inbox reading c.
func New[M any](c <-chan M) *Inbox[M] {
	return &Inbox[M]{c: c}
}

// Wait returns the first message, held or arriving within d, that match
// accepts; the others stay held. It fails with ErrTimeout after d, and
// with ErrClosed once the channel is closed and nothing held matches.
func (b *Inbox[M]) Wait(d time.Duration, match func(M) bool) (M, error) {
	for i, m := range b.held {
		if match(m) {
			b.held = append(b.held[:i], b.held[i+1:]...)
			return m, nil
		}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-b.c:
			if !ok {
				var zero M
				return zero, ErrClosed
			}
			if match(m) {
				return m, nil
			}
			b.held = append(b.held, m)
		case <-timer.C:
			var zero M
			return zero, ErrTimeout
		}
	}
}

// Held returns the messages passed over and not yet taken, oldest first
// (for a failure's message).
func (b *Inbox[M]) Held() []M {
	return append([]M(nil), b.held...)
}
