package hls

import (
	"log/slog"
	"time"
)

// logInterval is the least time between two log lines of one repeating
// problem, so a broken stream does not flood the log.
const logInterval = 10 * time.Second

// logLimiter passes the first line of a repeating problem, then at most
// one per logInterval, each saying how many it held back. It is not safe
// for concurrent use: each goroutine that logs has its own.
type logLimiter struct {
	last   time.Time
	silent uint64
}

func (l *logLimiter) warn(log *slog.Logger, msg string, args ...any) {
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < logInterval {
		l.silent++
		return
	}
	if l.silent > 0 {
		args = append(args, "not_logged_since_last", l.silent)
	}
	log.Warn(msg, args...)
	l.last, l.silent = now, 0
}
