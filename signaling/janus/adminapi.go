package janus

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The Janus admin API: the requests Janus's admin/monitor interface
// answers, on a handler of its own (AdminHandler), meant for its own
// listener. Every request but info and ping at the root must carry
// Options.AdminSecret as "admin_secret" (403 otherwise). Requests, by
// path:
//
//	POST base                    info, ping, list_sessions, list_tokens,
//	                             add_token, remove_token, allow_token,
//	                             disallow_token, set_session_timeout,
//	                             set_log_level, message_plugin
//	POST base/{session}          list_handles
//	POST base/{session}/{handle} handle_info
//
// A request at a path that does not serve it is refused with 457, as
// Janus does; session_id and handle_id may travel in the body instead.

// AdminHandler serves the Janus admin API under base (Janus uses
// "/admin") over HTTP. Serve it on a listener of its own: it can end
// sessions' lives and read every handle.
func (g *Gateway) AdminHandler(base string) http.Handler {
	return &httpTransport{core: &adminCore{g: g}, base: strings.TrimRight(base, "/"), maxBody: g.opts.MaxBody}
}

// adminCore answers admin requests for the HTTP transport. It holds no
// sessions of its own: there are no events to poll.
type adminCore struct {
	g *Gateway
}

var _ core = (*adminCore)(nil)

// adminRequest answers one root-level admin request.
type adminRequest func(g *Gateway, ctx context.Context, r *request) M

// adminRootRequests are the admin requests served at the root.
var adminRootRequests = map[string]adminRequest{
	"list_sessions":       (*Gateway).adminListSessions,
	"set_session_timeout": (*Gateway).adminSetSessionTimeout,
	"set_log_level":       (*Gateway).adminSetLogLevel,
	"message_plugin":      (*Gateway).adminMessagePlugin,
	"list_tokens":         (*Gateway).adminListTokens,
	"add_token":           (*Gateway).adminAddToken,
	"remove_token":        (*Gateway).adminRemoveToken,
	"allow_token":         func(g *Gateway, _ context.Context, r *request) M { return g.adminAllowToken(r, true) },
	"disallow_token":      func(g *Gateway, _ context.Context, r *request) M { return g.adminAllowToken(r, false) },
}

func (a *adminCore) process(ctx context.Context, body []byte, at route, _ sink) reply {
	g := a.g
	r, bad := parse(body, at.session, at.handle)
	if bad != nil {
		return reply{msg: bad}
	}
	if r.sessionID == 0 && r.handleID == 0 {
		switch r.janus {
		case "info":
			return reply{msg: g.info(r.transaction)}
		case "ping":
			return reply{msg: M{"janus": "pong", "transaction": r.transaction}}
		}
	}
	if !g.adminAuthorized(r) {
		return reply{msg: errReply(r.sessionID, r.transaction, errorf(CodeUnauthorized, unauthorizedReason))}
	}
	if r.sessionID == 0 {
		if run := adminRootRequests[r.janus]; run != nil && r.handleID == 0 {
			return reply{msg: run(g, ctx, r)}
		}
		return reply{msg: errReply(0, r.transaction, errorf(CodeInvalidRequestPath, "Unhandled request '%s' at this path", r.janus))}
	}
	s := g.session(r.sessionID)
	if s == nil {
		return reply{msg: errReply(r.sessionID, r.transaction, errorf(CodeSessionNotFound, "No such session %d", r.sessionID))}
	}
	if r.handleID == 0 {
		if r.janus != "list_handles" {
			return reply{msg: errReply(s.id, r.transaction, errorf(CodeInvalidRequestPath, "Unhandled request '%s' at this path", r.janus))}
		}
		return reply{msg: M{"janus": "success", "session_id": s.id, "transaction": r.transaction, "handles": s.handleIDs()}}
	}
	s.mu.Lock()
	h := s.handles[r.handleID]
	s.mu.Unlock()
	if h == nil {
		return reply{msg: errReply(s.id, r.transaction, errorf(CodeHandleNotFound, "No such handle %d in session %d", r.handleID, s.id))}
	}
	if r.janus != "handle_info" {
		return reply{msg: errReply(s.id, r.transaction, errorf(CodeInvalidRequestPath, "Unhandled request '%s' at this path", r.janus))}
	}
	return reply{msg: g.handleInfo(ctx, s, h, r)}
}

// poll implements core: admin sessions have no events.
func (a *adminCore) poll(context.Context, uint64, int) ([]M, error) { return nil, errNoSession }

// unbind implements core; the admin API binds no sinks.
func (a *adminCore) unbind(*Session, sink) {}

// info implements core.
func (a *adminCore) info(tx string) M { return a.g.info(tx) }

// pollAllowed implements core: there is nothing to poll (404).
func (a *adminCore) pollAllowed(url.Values) bool { return true }

// handleIDs lists the session's handles.
func (s *Session) handleIDs() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]uint64, 0, len(s.handles))
	for id := range s.handles {
		ids = append(ids, id)
	}
	return ids
}

func (g *Gateway) adminListSessions(_ context.Context, r *request) M {
	g.mu.Lock()
	ids := make([]uint64, 0, len(g.sessions))
	for id := range g.sessions {
		ids = append(ids, id)
	}
	g.mu.Unlock()
	return M{"janus": "success", "transaction": r.transaction, "sessions": ids}
}

// adminSetSessionTimeout sets the session timeout in seconds; 0 turns
// timeouts off, as in Janus.
func (g *Gateway) adminSetSessionTimeout(_ context.Context, r *request) M {
	secs, err := r.raw.uint("timeout", true)
	if err == nil && secs > math.MaxInt32 {
		err = &fieldError{key: "timeout", want: "a positive integer", err: errFieldType}
	}
	if err != nil {
		return errReply(0, r.transaction, coreError(err))
	}
	g.timeout.Store(int64(time.Duration(secs) * time.Second))
	g.log.Info("admin: session timeout changed", "timeout", time.Duration(secs)*time.Second)
	return M{"janus": "success", "transaction": r.transaction, "timeout": secs}
}

// adminSetLogLevel sets the server's log level from Janus's 0-7 (see
// JanusLogLevel).
func (g *Gateway) adminSetLogLevel(_ context.Context, r *request) M {
	n, err := r.raw.uint("level", true)
	if err != nil {
		return errReply(0, r.transaction, coreError(err))
	}
	if n > 7 {
		return errReply(0, r.transaction, errorf(CodeInvalidElementType, "Invalid element type (level should be between 0 and 7)"))
	}
	if g.opts.LogLevel == nil {
		return errReply(0, r.transaction, errorf(CodeUnknown, "The log level cannot be changed"))
	}
	g.opts.LogLevel.Set(JanusLogLevel(int(n)))
	g.log.Info("admin: log level changed", "janus_level", n, "level", g.opts.LogLevel.Level())
	return M{"janus": "success", "transaction": r.transaction, "level": n}
}

// JanusLogLevel maps Janus's log levels onto slog's: 0 (none) logs
// nothing, 1 (fatal) and 2 (error) errors, 3 warnings, 4 information,
// 5 to 7 (verbose, huge, debug) everything.
func JanusLogLevel(n int) slog.Level {
	switch {
	case n <= 0:
		return slog.LevelError + 8
	case n <= 2:
		return slog.LevelError
	case n == 3:
		return slog.LevelWarn
	case n == 4:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}
