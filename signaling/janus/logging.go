package janus

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// logInterval is the least time between two log lines of one repeating
// problem: a flood of slow clients or failing requests must not flood the
// log.
const logInterval = 10 * time.Second

// logLimiter lets the first occurrence of a repeating problem through to
// the log, then at most one line per logInterval, each saying how many
// occurrences the log did not show. It is safe for concurrent use.
type logLimiter struct {
	mu     sync.Mutex
	last   time.Time
	silent uint64
}

// log logs msg at level unless a line went out less than logInterval ago.
func (l *logLimiter) log(log *slog.Logger, level slog.Level, msg string, args ...any) {
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
	log.Log(context.Background(), level, msg, args...)
}

func (l *logLimiter) warn(log *slog.Logger, msg string, args ...any) {
	l.log(log, slog.LevelWarn, msg, args...)
}
