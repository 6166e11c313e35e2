package room

import (
	"log/slog"
	"time"
)

// logInterval is the least time between two log lines of one repeating
// problem: a stream of garbage or a failing encoder must not flood the log.
const logInterval = 10 * time.Second

// logLimiter lets the first occurrence of a repeating problem through to
// the log, then at most one line per logInterval, each saying how many
// occurrences the log did not show. It is not safe for concurrent use.
type logLimiter struct {
	last   time.Time
	silent uint64
}

// warn logs msg at warning level unless a line went out less than
// logInterval ago.
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
