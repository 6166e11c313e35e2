package sip

import (
	"context"
	"log/slog"
	"sync"

	"github.com/tessera-mcu/tessera/internal/loglimit"
)

// quietHandler is the log of the SIP stack underneath: its warnings and
// errors only, each kind of line (by message) at most once per
// loglimit.Interval, without the raw messages it may attach.
type quietHandler struct {
	next   slog.Handler
	limits *sync.Map // message -> *loglimit.Limiter
}

func newQuietHandler(next slog.Handler) *quietHandler {
	return &quietHandler{next: next, limits: &sync.Map{}}
}

func (h *quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.next.Enabled(ctx, l)
}

// maxKinds bounds how many kinds of line are remembered; past it the
// rarest newcomers share one limiter.
const maxKinds = 256

var overflowLimit loglimit.Limiter

func (h *quietHandler) Handle(_ context.Context, r slog.Record) error {
	lim := &overflowLimit
	if v, ok := h.limits.Load(r.Message); ok {
		lim = v.(*loglimit.Limiter)
	} else if n := countMap(h.limits); n < maxKinds {
		v, _ := h.limits.LoadOrStore(r.Message, &loglimit.Limiter{})
		lim = v.(*loglimit.Limiter)
	}
	var args []any
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "data" && a.Key != "msg" && a.Key != "req" {
			args = append(args, a)
		}
		return true
	})
	lim.Log(slog.New(h.next), r.Level, "SIP stack: "+r.Message, args...)
	return nil
}

func countMap(m *sync.Map) int {
	n := 0
	m.Range(func(any, any) bool { n++; return n < maxKinds })
	return n
}

func (h *quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &quietHandler{next: h.next.WithAttrs(as), limits: h.limits}
}

func (h *quietHandler) WithGroup(name string) slog.Handler {
	return &quietHandler{next: h.next.WithGroup(name), limits: h.limits}
}
