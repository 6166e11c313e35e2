package rtmp

import (
	"log/slog"
	"sync"
	"time"
)

type kind uint8

const (
	kindVideo kind = iota + 1
	kindAudio
)

// item is one queued frame: a copy of an access unit or of a PCM chunk,
// in a pooled buffer that the Pusher's goroutine releases once it is sent
// or discarded.
type item struct {
	kind kind
	key  bool
	pts  time.Duration
	data *[]byte
	pcm  *[]int16
}

var (
	bytePool = sync.Pool{New: func() any { return new([]byte) }}
	pcmPool  = sync.Pool{New: func() any { return new([]int16) }}
)

func copyBytes(b []byte) *[]byte {
	buf := bytePool.Get().(*[]byte)
	*buf = append((*buf)[:0], b...)
	return buf
}

func copyPCM(pcm []int16) *[]int16 {
	buf := pcmPool.Get().(*[]int16)
	*buf = append((*buf)[:0], pcm...)
	return buf
}

// release returns the item's buffer to its pool.
func (it item) release() {
	if it.data != nil {
		bytePool.Put(it.data)
	}
	if it.pcm != nil {
		pcmPool.Put(it.pcm)
	}
}

// logInterval is the least time between two log lines of one repeating
// problem.
const logInterval = 10 * time.Second

// logLimiter lets the first occurrence of a repeating problem through to
// the log, then at most one line per logInterval, each saying how many
// occurrences the log did not show. It is not safe for concurrent use.
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
