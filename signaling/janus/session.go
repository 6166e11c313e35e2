package janus

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// sessionQueueLen bounds the events a session holds while no sink is
// bound; beyond it the oldest are dropped and counted.
const sessionQueueLen = 1024

// Session is a Janus session: its handles, and where its events go. While
// a sink is bound (the WebSocket that created or claimed it) they go
// there. While none is (a session of the HTTP transport, or one being
// claimed from one transport to another) they wait in the session's
// bounded queue, for the next long poll or for the socket that claims it.
type Session struct {
	id   uint64
	gw   *Gateway
	last atomic.Int64
	// polls counts the long polls waiting on the session.
	polls atomic.Int32

	mu        sync.Mutex
	handles   map[uint64]*Handle
	destroyed bool
	sink      sink
	queue     []M
	dropped   uint64
	// ended: the session is gone and its last events are queued; long
	// polls return at once.
	ended bool
	// wake tells a waiting long poll that events arrived or the session
	// ended.
	wake chan struct{}
}

func newSession(id uint64, gw *Gateway, k sink) *Session {
	s := &Session{id: id, gw: gw, handles: make(map[uint64]*Handle), sink: k, wake: make(chan struct{}, 1)}
	s.touch()
	return s
}

func (s *Session) touch() { s.last.Store(time.Now().UnixNano()) }

// send delivers an event to the session's sink, or queues it while none
// is bound. Events leave in the order they are sent.
func (s *Session) send(m M) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sink != nil {
		s.sink.deliver(m)
		return
	}
	if len(s.queue) >= sessionQueueLen {
		s.queue = s.queue[1:]
		s.dropped++
		s.gw.logs.sessionQueue.Warn(s.gw.log, "session queue full; dropping its oldest event",
			"session", s.id, "dropped", s.dropped)
	}
	s.queue = append(s.queue, m)
	s.signal()
}

// signal wakes a waiting long poll. Called with s.mu held.
func (s *Session) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// bind makes k the session's sink (nil: none, events queue). What was
// queued meanwhile goes to k first, in order.
func (s *Session) bind(k sink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sink = k
	if k == nil {
		return
	}
	for _, m := range s.queue {
		k.deliver(m)
	}
	s.queue = nil
}

// boundTo reports whether k is the session's sink.
func (s *Session) boundTo(k sink) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sink == k
}

// end wakes the session's long polls for good: it is gone.
func (s *Session) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	s.signal()
}

// take waits up to d for queued events and returns at most max of them;
// none when d passes, ctx ends or the session ends. It reports false,
// without waiting, when a sink is bound: the session's events go there.
func (s *Session) take(ctx context.Context, max int, d time.Duration) ([]M, bool) {
	s.mu.Lock()
	bound := s.sink != nil
	s.mu.Unlock()
	if bound {
		return nil, false
	}
	s.touch()
	defer s.touch()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if n := min(max, len(s.queue)); n > 0 {
			out := append([]M(nil), s.queue[:n]...)
			s.queue = append(s.queue[:0], s.queue[n:]...)
			if len(s.queue) > 0 {
				s.signal() // for another poll waiting on the session
			}
			s.mu.Unlock()
			return out, true
		}
		ended := s.ended
		if ended {
			s.signal() // for another poll waiting on the session
		}
		s.mu.Unlock()
		if ended {
			return nil, true
		}
		select {
		case <-s.wake:
		case <-timer.C:
			return nil, true
		case <-ctx.Done():
			return nil, true
		}
	}
}
