package events

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// logInterval is the least time between two log lines of one repeating
// problem (a backend that is down fails every batch).
const logInterval = 10 * time.Second

// logLimiter lets the first line of a repeating problem through, then at
// most one per logInterval, saying how many were not logged.
type logLimiter struct {
	mu     sync.Mutex
	last   time.Time
	silent uint64
}

func (l *logLimiter) warn(log *slog.Logger, msg string, args ...any) {
	now := time.Now()
	l.mu.Lock()
	if !l.last.IsZero() && now.Sub(l.last) < logInterval {
		l.silent++
		l.mu.Unlock()
		return
	}
	if l.silent > 0 {
		args = append(args, "not_logged_since_last", l.silent)
	}
	l.last, l.silent = now, 0
	l.mu.Unlock()
	log.Log(context.Background(), slog.LevelWarn, msg, args...)
}
