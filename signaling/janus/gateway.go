package janus

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-mcu/tessera/internal/loglimit"
)

// M is an outgoing JSON message.
type M = map[string]any

// Options configures a Gateway.
type Options struct {
	// SessionTimeout destroys sessions idle this long (default 60 s).
	SessionTimeout time.Duration
	// PollTimeout is how long an HTTP long poll waits for an event before
	// answering keepalive (default 30 s).
	PollTimeout time.Duration
	// MaxBody bounds one HTTP request body in bytes (default
	// DefaultMaxBody); a larger one is answered with error 454.
	MaxBody int64
	// WSMaxMessage bounds one incoming WebSocket message in bytes (default
	// DefaultWSMaxMessage); a larger one closes the socket with close code
	// 1009 before it is read.
	WSMaxMessage int64
	// WSSessionWait closes a WebSocket on which no session was created or
	// claimed this long after it opened (default 30 s).
	WSSessionWait time.Duration
	// MaxSessions caps the sessions (0: no cap); a create beyond it is
	// refused with 472.
	MaxSessions int
	// MaxHandles caps the handles of one session (0: no cap); an attach
	// beyond it is refused with 461.
	MaxHandles int
	// SessionsPerMinute caps the sessions one client address (IPv6: one
	// /64) may create a minute, in a burst or spread (0: no cap); beyond
	// it a create is refused with 472.
	SessionsPerMinute int
	// MaxPolls caps the long polls waiting at once on one session
	// (default 4); one more is answered at once with HTTP 429.
	MaxPolls int
	// WSRate caps the requests one WebSocket may send a second (bursts of
	// twice as many; 0: no cap); the requests beyond it are answered with
	// 450 and not processed.
	WSRate int
	// WSOrigins lists the Origins (scheme://host[:port]) whose pages may
	// open a WebSocket; empty or "*": any. Clients that send no Origin
	// (not browsers) are always let in.
	WSOrigins []string
	// Version strings reported by info.
	Version string
	Logger  *slog.Logger
	// Events, if set, takes session, handle, jsep, webrtc, media and
	// plugin events for the operator's event handlers (see events.go).
	Events EventSink
	// Observer, if set, learns of every request once it is answered.
	Observer RequestObserver

	// APISecret, when set, is the secret every request must carry as
	// "apisecret" (403 otherwise; see auth.go).
	APISecret string
	// TokenAuth makes every request carry a stored token as "token"
	// (403 otherwise); tokens may be limited to some plugins (405).
	TokenAuth bool
	// Tokens are stored at start, each allowed every plugin (with
	// TokenAuth).
	Tokens []string
	// AdminSecret is the "admin_secret" every admin API request must
	// carry (AdminHandler); without it the admin API refuses them all.
	AdminSecret string
	// LogLevel, when set, is the level set_log_level changes: the
	// server logger's.
	LogLevel *slog.LevelVar
}

// Gateway is the Janus core: sessions, handles, request dispatch. It owns
// its goroutines (the session reaper and one per handle) and, through the
// transports it made, the WebSockets'; Close waits for all of them.
type Gateway struct {
	opts    Options
	log     *slog.Logger
	plugins map[string]Plugin
	started time.Time
	// tokens are the stored tokens of token authentication.
	tokens *tokenStore
	// timeout is the session timeout in nanoseconds; 0 never times out
	// (set_session_timeout changes it).
	timeout atomic.Int64

	mu       sync.Mutex
	sessions map[uint64]*Session
	closed   bool
	// transports are the WSHandlers made, stopped last on Close.
	transports []stopper

	stop chan struct{}
	// wg counts the reaper and every handle's goroutine.
	wg sync.WaitGroup

	// sessionRate limits session creation per client address.
	sessionRate *addrLimiter

	// logs limits the lines of repeating problems.
	logs struct {
		sessionQueue, handleQueue, panics, admission loglimit.Limiter
	}
}

// NewGateway creates a gateway and starts its session reaper.
func NewGateway(opts Options) *Gateway {
	if opts.SessionTimeout == 0 {
		opts.SessionTimeout = 60 * time.Second
	}
	if opts.PollTimeout == 0 {
		opts.PollTimeout = 30 * time.Second
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.WSMaxMessage <= 0 {
		opts.WSMaxMessage = DefaultWSMaxMessage
	}
	if opts.WSSessionWait <= 0 {
		opts.WSSessionWait = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.MaxPolls <= 0 {
		opts.MaxPolls = DefaultMaxPolls
	}
	g := &Gateway{
		opts: opts, log: opts.Logger, plugins: make(map[string]Plugin),
		sessions: make(map[uint64]*Session), started: time.Now(), stop: make(chan struct{}),
		sessionRate: newAddrLimiter(opts.SessionsPerMinute),
		tokens:      newTokenStore(),
	}
	g.timeout.Store(int64(opts.SessionTimeout))
	for _, t := range opts.Tokens {
		g.tokens.add(t, nil)
	}
	g.wg.Add(1)
	go g.reap()
	return g
}

// DefaultMaxPolls is the default cap of long polls waiting at once on one
// session.
const DefaultMaxPolls = 4

// Register adds a plugin. The start-up tokens may attach to it.
func (g *Gateway) Register(p Plugin) {
	g.plugins[p.Package()] = p
	for _, t := range g.opts.Tokens {
		g.tokens.grant(t, p.Package())
	}
}

// sessionTimeout is the current session timeout; 0: none.
func (g *Gateway) sessionTimeout() time.Duration { return time.Duration(g.timeout.Load()) }

// Close destroys every session, stops the reaper and returns once every
// handle is detached: each plugin's Detach has returned (and with it every
// goroutine the plugin ran for the handle), its clients have been sent
// hangup (where a PeerConnection existed) and detached. WebSockets are
// then closed with 1001 (going away) after what was queued for them is
// written, and Close returns once their goroutines have ended.
func (g *Gateway) Close() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	var all []*Session
	for _, s := range g.sessions {
		all = append(all, s)
	}
	transports := g.transports
	g.mu.Unlock()
	// Every session not listed here is already marked destroyed (see
	// destroySession), so no handle can be added to wg after this loop.
	for _, s := range all {
		g.destroySession(s, "")
	}
	close(g.stop)
	g.wg.Wait()
	for _, t := range transports {
		t.stop()
	}
}

// addTransport records a transport for Close to stop; it reports false
// once the gateway is closed.
func (g *Gateway) addTransport(t stopper) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.transports = append(g.transports, t)
	return true
}

func (g *Gateway) reap() {
	defer g.wg.Done()
	// Janus checks every 2 s; shorter timeouts (tests) are checked faster.
	t := time.NewTicker(min(2*time.Second, g.opts.SessionTimeout/4))
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case now := <-t.C:
			timeout := g.sessionTimeout()
			if timeout == 0 {
				continue
			}
			g.mu.Lock()
			var expired []*Session
			for _, s := range g.sessions {
				if now.Sub(time.Unix(0, s.last.Load())) > timeout {
					expired = append(expired, s)
				}
			}
			g.mu.Unlock()
			g.sessionRate.prune(now)
			for _, s := range expired {
				g.log.Info("session timed out", "session", s.id)
				g.destroySession(s, "timeout")
			}
		}
	}
}

func (g *Gateway) session(id uint64) *Session {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sessions[id]
}

// poll implements core.
func (g *Gateway) poll(ctx context.Context, id uint64, max int) ([]M, error) {
	s := g.session(id)
	if s == nil {
		return nil, errNoSession
	}
	if n := s.polls.Add(1); n > int32(g.opts.MaxPolls) {
		s.polls.Add(-1)
		return nil, errTooManyPolls
	}
	defer s.polls.Add(-1)
	events, ok := s.take(ctx, max, g.opts.PollTimeout)
	if !ok {
		return nil, errNoSession
	}
	return events, nil
}

// unbind implements core.
func (g *Gateway) unbind(s *Session, k sink) {
	if s.boundTo(k) {
		g.destroySession(s, "")
	}
}

// info implements core.
func (g *Gateway) info(tx string) M {
	plugins := M{}
	for name, p := range g.plugins {
		plugins[name] = p.Info()
	}
	return M{
		"janus": "server_info", "transaction": tx,
		"name": "Tessera", "version": 1, "version_string": g.opts.Version,
		"author": "The Tessera authors", "commit-hash": "", "compile-time": "",
		"log-to-stdout": true, "log-to-file": false, "data_channels": false,
		"accepting-new-sessions": true, "session-timeout": int(g.sessionTimeout().Seconds()),
		"reclaim-session-timeout": 0, "candidates-timeout": 45,
		"server-name": "Tessera", "local-ip": "0.0.0.0", "ipv6": false, "ice-lite": false,
		"ice-tcp": true, "full-trickle": false, "mdns-enabled": false,
		"api_secret": g.opts.APISecret != "", "auth_token": g.opts.TokenAuth, "event_handlers": g.opts.Events != nil, "opaqueid_in_api": true,
		"dependencies": M{}, "transports": M{
			"janus.transport.http":       M{"name": "HTTP transport", "version_string": g.opts.Version},
			"janus.transport.websockets": M{"name": "WebSockets transport", "version_string": g.opts.Version},
		},
		"events": M{}, "loggers": M{}, "plugins": plugins,
	}
}
