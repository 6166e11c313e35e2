package janus

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Admission limits: what one client may open and how fast. Each refusal
// is a Janus error with the limit in its reason; nothing already running
// is touched.

// maxRateKeys bounds the client addresses the session-rate limiter
// remembers; beyond it, an address not seen yet is let through (and the
// operator told, once a minute).
const maxRateKeys = 1 << 16

// addrLimiter is a token bucket per client address: IPv4 addresses one
// by one, IPv6 by /64 (one host's addresses, however many it uses).
type addrLimiter struct {
	every time.Duration // one token per every
	burst int

	mu      sync.Mutex
	buckets map[netip.Prefix]*rate.Limiter
}

// newAddrLimiter allows perMinute events a minute per address, and as
// many at once (0: no limit, nil limiter).
func newAddrLimiter(perMinute int) *addrLimiter {
	if perMinute <= 0 {
		return nil
	}
	return &addrLimiter{every: time.Minute / time.Duration(perMinute), burst: perMinute,
		buckets: make(map[netip.Prefix]*rate.Limiter)}
}

// rateKey is the bucket of a client's "host:port" address.
func rateKey(addr string) (netip.Prefix, bool) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p, true
}

// allow takes a token of addr's bucket. ok false means refused; full
// reports that the limiter remembers too many addresses to add this one
// (it is let through).
func (l *addrLimiter) allow(addr string, now time.Time) (ok, full bool) {
	if l == nil {
		return true, false
	}
	key, valid := rateKey(addr)
	if !valid {
		return true, false // not a network client (a test's pipe)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxRateKeys {
			return true, true
		}
		b = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.buckets[key] = b
	}
	return b.AllowN(now, 1), false
}

// prune forgets the addresses whose buckets are full again: they would
// behave as new ones.
func (l *addrLimiter) prune(now time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
}

// admitSession checks the session caps before a create: the server's
// count and the client's rate.
func (g *Gateway) admitSession(ctx context.Context, tx string) M {
	ok, full := g.sessionRate.allow(ClientAddr(ctx), time.Now())
	if full {
		g.logs.admission.Warn(g.log, "session rate limiter remembers too many client addresses; letting new ones through",
			"addresses", maxRateKeys)
	}
	if !ok {
		g.logs.admission.Log(g.log, slog.LevelInfo, "session refused: creation rate", "client", ClientAddr(ctx),
			"per_minute", g.opts.SessionsPerMinute)
		return errReply(0, tx, errorf(CodeNotAcceptingSession,
			"Not accepting new sessions from this address (at most %d a minute); try again later", g.opts.SessionsPerMinute))
	}
	return nil
}

// tooManySessions is the answer to a create beyond MaxSessions. Called
// with g.mu held.
func (g *Gateway) tooManySessions(tx string) M {
	if g.opts.MaxSessions <= 0 || len(g.sessions) < g.opts.MaxSessions {
		return nil
	}
	g.logs.admission.Warn(g.log, "session refused: the server's session limit is reached", "max_sessions", g.opts.MaxSessions)
	return errReply(0, tx, errorf(CodeNotAcceptingSession, "Not accepting new sessions (at most %d)", g.opts.MaxSessions))
}

// tooManyHandles is the answer to an attach beyond MaxHandles. Called
// with s.mu held.
func (g *Gateway) tooManyHandles(s *Session, tx string) M {
	if g.opts.MaxHandles <= 0 || len(s.handles) < g.opts.MaxHandles {
		return nil
	}
	return errReply(s.id, tx, errorf(CodePluginAttach, "Couldn't attach to plugin: too many handles in session %d (at most %d)", s.id, g.opts.MaxHandles))
}

// Why a long poll gets no events: no such session here (or its events go
// to a WebSocket), or the session already has MaxPolls polls waiting.
var (
	errNoSession    = errors.New("no such session")
	errTooManyPolls = errors.New("too many long polls")
)

// wsRate is one socket's message budget (nil: no limit).
func (g *Gateway) wsRate() *rate.Limiter {
	if g.opts.WSRate <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(g.opts.WSRate), 2*g.opts.WSRate)
}

// rateLimited is the answer to a WebSocket request over the socket's
// message rate: the request is not processed.
func rateLimited(raw []byte, perSecond int) M {
	var env struct {
		Transaction string `json:"transaction"`
		Session     uint64 `json:"session_id"`
	}
	_ = json.Unmarshal(raw, &env)
	return errReply(env.Session, env.Transaction, errorf(CodeTransportSpecific,
		"Too many requests on this connection (at most %d a second); request not processed", perSecond))
}

// originChecker is the WebSocket upgrader's Origin check: any origin
// when allowed is empty or holds "*", else only those listed (scheme,
// host and port, e.g. https://meet.example.com), and requests with no
// Origin (not from a browser).
func originChecker(allowed []string) func(*http.Request) bool {
	set := make(map[string]bool, len(allowed))
	for _, o := range allowed {
		o = strings.TrimRight(strings.ToLower(strings.TrimSpace(o)), "/")
		if o == "*" {
			return func(*http.Request) bool { return true }
		}
		if o != "" {
			set[o] = true
		}
	}
	if len(set) == 0 {
		return func(*http.Request) bool { return true }
	}
	return func(r *http.Request) bool {
		o := r.Header.Get("Origin")
		return o == "" || set[strings.ToLower(o)]
	}
}
