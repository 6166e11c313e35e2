// Package lockout slows down the guessing of secrets. A Limiter counts
// the failed secret and PIN checks of each client address; a client that
// fails too often within a window is refused any check for a while,
// without its guess being compared at all. Its log is a summary: at most
// one line per period, with counts.
//
//	l := lockout.New(lockout.Options{Logger: log})
//	if !l.Allow(r.RemoteAddr) {
//		return errUnauthorized // locked out: nothing compared
//	}
//	if !room.CheckSecret(secret) {
//		l.Fail(r.RemoteAddr)
//		return errUnauthorized
//	}
package lockout

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Options configures a Limiter. Zero values take the defaults.
type Options struct {
	// MaxFailures within Window lock a client out (default 10).
	MaxFailures int
	// Window is the period failures are counted over (default 1 min).
	Window time.Duration
	// Lockout is how long a locked-out client is refused (default 5 min).
	Lockout time.Duration
	// LogEvery is the least time between two log lines (default 1 min).
	LogEvery time.Duration
	// Logger receives the summary lines (default slog.Default).
	Logger *slog.Logger
	// Now reads the clock (default time.Now).
	Now func() time.Time
}

// pruneAt is how many clients the limiter holds before it drops the
// expired ones (at most once per window).
const pruneAt = 1024

// Limiter counts failed checks per client. It is safe for concurrent use.
type Limiter struct {
	o Options

	mu        sync.Mutex
	clients   map[string]*client
	lastPrune time.Time
	// Counts since the last log line.
	failed, refused, lockedOut uint64
	lastClient                 string
	lastLog                    time.Time
}

type client struct {
	since    time.Time // start of the counting window
	failures int
	until    time.Time // locked out until then
}

// New returns a limiter.
func New(o Options) *Limiter {
	if o.MaxFailures <= 0 {
		o.MaxFailures = 10
	}
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	if o.Lockout <= 0 {
		o.Lockout = 5 * time.Minute
	}
	if o.LogEvery <= 0 {
		o.LogEvery = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Limiter{o: o, clients: make(map[string]*client)}
}

// Key is the client an address stands for: its IP without the port, an
// IPv6 address by its /64 (one host's share). An address that is not IP
// is its own key.
func Key(addr string) string {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// Allow reports whether the client at addr may have a secret checked now;
// false while it is locked out.
func (l *Limiter) Allow(addr string) bool {
	k := Key(addr)
	now := l.o.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.clients[k]; c != nil && now.Before(c.until) {
		l.refused++
		l.note(now, k)
		return false
	}
	return true
}

// Fail records a failed check by the client at addr; the one that reaches
// MaxFailures within Window locks it out.
func (l *Limiter) Fail(addr string) {
	k := Key(addr)
	now := l.o.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	c := l.clients[k]
	if c == nil {
		c = &client{since: now}
		l.clients[k] = c
	}
	if now.Sub(c.since) >= l.o.Window {
		c.since, c.failures = now, 0
	}
	c.failures++
	l.failed++
	if c.failures >= l.o.MaxFailures {
		c.until = now.Add(l.o.Lockout)
		c.since, c.failures = now, 0
		l.lockedOut++
	}
	l.note(now, k)
}

// prune drops clients whose window and lockout have both passed.
func (l *Limiter) prune(now time.Time) {
	if len(l.clients) < pruneAt || now.Sub(l.lastPrune) < l.o.Window {
		return
	}
	l.lastPrune = now
	for k, c := range l.clients {
		if now.Sub(c.since) >= l.o.Window && !now.Before(c.until) {
			delete(l.clients, k)
		}
	}
}

// note logs the counts so far unless a line went out less than LogEvery
// ago; counts held back go out with the next line.
func (l *Limiter) note(now time.Time, k string) {
	l.lastClient = k
	if !l.lastLog.IsZero() && now.Sub(l.lastLog) < l.o.LogEvery {
		return
	}
	level := slog.LevelInfo
	if l.refused > 0 || l.lockedOut > 0 {
		level = slog.LevelWarn
	}
	l.o.Logger.Log(context.Background(), level, "failed secret checks", "failed", l.failed, "refused_locked_out", l.refused,
		"clients_locked_out", l.lockedOut, "last_client", l.lastClient, "clients", len(l.clients))
	l.failed, l.refused, l.lockedOut = 0, 0, 0
	l.lastLog = now
}
