// Package loglimit keeps a repeating problem from flooding the log: a
// Limiter lets its first line through, then at most one line per
// Interval, each saying how many lines it held back since the last. One
// Limiter stands for one kind of problem (a garbage stream, a failing
// encoder, a backend that is down); it is safe for concurrent use.
package loglimit

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Interval is the least time between two lines of one Limiter.
const Interval = 10 * time.Second

// Limiter rate-limits the lines of one repeating problem. The zero value
// is ready to use.
type Limiter struct {
	mu     sync.Mutex
	last   time.Time
	silent uint64
}

// Log logs msg at level unless a line went out less than Interval ago;
// the line after a silence carries "not_logged_since_last".
func (l *Limiter) Log(log *slog.Logger, level slog.Level, msg string, args ...any) {
	now := time.Now()
	l.mu.Lock()
	if !l.last.IsZero() && now.Sub(l.last) < Interval {
		l.silent++
		l.mu.Unlock()
		return
	}
	if l.silent > 0 {
		args = append(args, "not_logged_since_last", l.silent)
	}
	l.last, l.silent = now, 0
	l.mu.Unlock()
	log.Log(context.Background(), level, msg, args...)
}

// Warn is Log at warning level.
func (l *Limiter) Warn(log *slog.Logger, msg string, args ...any) {
	l.Log(log, slog.LevelWarn, msg, args...)
}
