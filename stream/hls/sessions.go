package hls

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Source attaches a room's stream to a Muxer when a player first asks for
// the room's playlist, and detaches it when nobody has fetched anything
// for the idle timeout, so a room encodes for HLS only while it is
// watched. The server implements it.
type Source interface {
	// Start attaches the room's stream to a new Muxer and returns it. An
	// error wrapping ErrNoStream means the room does not exist or does not
	// stream HLS (404); any other error is answered 503.
	Start(room string) (*Muxer, error)
	// Stop detaches the room's stream from the Muxer Start returned. The
	// handler calls it once per successful Start, also after the Muxer was
	// closed by its owner, and closes the Muxer after it.
	Stop(room string)
}

// session is one room's running stream.
type session struct {
	room     string
	ready    chan struct{} // closed when Start has returned
	mux      *Muxer        // set before ready closes
	err      error         // set before ready closes
	lastUsed atomic.Int64  // unix nanoseconds of the last request's end
	active   atomic.Int32  // requests being answered; never idle while > 0
}

// release ends one request that get let in.
func (s *session) release(now time.Time) {
	s.lastUsed.Store(now.UnixNano())
	s.active.Add(-1)
}

// sessions holds the running streams of a Handler and reaps idle ones.
type sessions struct {
	src  Source
	idle time.Duration
	now  func() time.Time

	mu    sync.Mutex
	rooms map[string]*session

	starts, stops atomic.Uint64
}

// get returns the room's running session, starting one when start is set
// and none runs. It waits for Start to return, at most until ctx ends. A
// session it returns counts the request as active until release.
func (ss *sessions) get(ctx context.Context, room string, start bool) (*session, error) {
	ss.mu.Lock()
	s := ss.rooms[room]
	if s != nil && s.finished() {
		delete(ss.rooms, room)
		ss.mu.Unlock()
		ss.stop(s)
		ss.mu.Lock()
		s = ss.rooms[room] // another request may have started one meanwhile
	}
	if s == nil {
		if !start {
			ss.mu.Unlock()
			return nil, ErrNotFound
		}
		s = &session{room: room, ready: make(chan struct{})}
		s.lastUsed.Store(ss.now().UnixNano())
		s.active.Store(1)
		ss.rooms[room] = s
		ss.mu.Unlock()
		ss.starts.Add(1)
		mux, err := ss.src.Start(room)
		if err == nil && mux == nil {
			err = ErrNoStream
		}
		s.mux, s.err = mux, err
		close(s.ready)
		if err != nil {
			ss.mu.Lock()
			if ss.rooms[room] == s {
				delete(ss.rooms, room)
			}
			ss.mu.Unlock()
			return nil, err
		}
		return s, nil
	}
	s.active.Add(1)
	ss.mu.Unlock()
	select {
	case <-s.ready:
	case <-ctx.Done():
		s.release(ss.now())
		return nil, ErrNotReady
	}
	if s.err != nil {
		s.release(ss.now())
		return nil, s.err
	}
	return s, nil
}

// finished reports whether a session has ended: its Muxer was closed by
// its owner. A session whose Start is still running has not.
func (s *session) finished() bool {
	select {
	case <-s.ready:
		return s.err == nil && s.mux.Done()
	default:
		return false
	}
}

// stop detaches and closes a session that was removed from the map.
func (ss *sessions) stop(s *session) {
	<-s.ready
	if s.err != nil {
		return
	}
	ss.src.Stop(s.room)
	_ = s.mux.Close()
	ss.stops.Add(1)
}

// reap stops the sessions idle for longer than the idle timeout and those
// whose Muxer was closed.
func (ss *sessions) reap() {
	cutoff := ss.now().Add(-ss.idle).UnixNano()
	var gone []*session
	ss.mu.Lock()
	for room, s := range ss.rooms {
		select {
		case <-s.ready:
		default:
			continue // starting
		}
		idle := s.active.Load() == 0 && s.lastUsed.Load() < cutoff
		if s.err == nil && (idle || s.mux.Done()) {
			delete(ss.rooms, room)
			gone = append(gone, s)
		}
	}
	ss.mu.Unlock()
	for _, s := range gone {
		ss.stop(s)
	}
}

// stopAll stops every session.
func (ss *sessions) stopAll() {
	ss.mu.Lock()
	all := make([]*session, 0, len(ss.rooms))
	for room, s := range ss.rooms {
		delete(ss.rooms, room)
		all = append(all, s)
	}
	ss.mu.Unlock()
	for _, s := range all {
		ss.stop(s)
	}
}

// running lists the rooms with a running stream.
func (ss *sessions) running() []string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	rooms := make([]string, 0, len(ss.rooms))
	for room := range ss.rooms {
		rooms = append(rooms, room)
	}
	return rooms
}
