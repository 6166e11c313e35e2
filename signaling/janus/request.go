package janus

import (
	"bytes"
	"context"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// request is a decoded client request.
type request struct {
	janus       string
	transaction string
	sessionID   uint64
	handleID    uint64
	raw         fields
}

// errReply builds an error message.
func errReply(sessionID uint64, tx string, e *Error) M {
	m := M{"janus": "error", "error": e}
	if sessionID != 0 {
		m["session_id"] = sessionID
	}
	if tx != "" {
		m["transaction"] = tx
	}
	return m
}

// parse decodes and checks a request envelope. pathSession and pathHandle
// come from the HTTP path (0 on WebSocket).
func parse(body []byte, pathSession, pathHandle uint64) (*request, M) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, errReply(0, "", errorf(CodeInvalidJSON, "JSON error: empty request"))
	}
	// JSON text is UTF-8 (RFC 8259 section 8.1). Go's decoder would put
	// U+FFFD in place of invalid bytes; Janus's refuses the request (454).
	if !utf8.Valid(trimmed) {
		return nil, errReply(0, "", errorf(CodeInvalidJSON, "JSON error: invalid UTF-8"))
	}
	// As Janus 1.1.2 answers: an array is valid JSON but not an object
	// (455); anything else that is not an object is a JSON error (454).
	var raw fields
	if err := json.Unmarshal(trimmed, &raw); err != nil || raw == nil {
		switch {
		case trimmed[0] == '[' && json.Valid(trimmed):
			return nil, errReply(0, "", errorf(CodeInvalidJSONObject, "JSON error: not an object"))
		case trimmed[0] == '{' && err != nil:
			return nil, errReply(0, "", errorf(CodeInvalidJSON, "JSON error: %v", err))
		}
		return nil, errReply(0, "", errorf(CodeInvalidJSON, "JSON error: not an object"))
	}
	r := &request{raw: raw}
	var err error
	if r.janus, err = raw.str("janus", true); err != nil {
		return nil, errReply(0, "", coreError(err))
	}
	if r.transaction, err = raw.str("transaction", true); err != nil {
		return nil, errReply(0, "", coreError(err))
	}
	if r.sessionID, err = raw.uint("session_id", false); err != nil {
		return nil, errReply(0, r.transaction, coreError(err))
	}
	if r.handleID, err = raw.uint("handle_id", false); err != nil {
		return nil, errReply(r.sessionID, r.transaction, coreError(err))
	}
	for _, p := range []struct {
		path uint64
		body *uint64
		name string
	}{{pathSession, &r.sessionID, "session"}, {pathHandle, &r.handleID, "handle"}} {
		if p.path == 0 {
			continue
		}
		if *p.body != 0 && *p.body != p.path {
			return nil, errReply(r.sessionID, r.transaction, errorf(CodeInvalidRequestPath, "%s ID in path and body differ", p.name))
		}
		*p.body = p.path
	}
	return r, nil
}

// process implements core: it answers one request. A session the
// request creates or claims is bound to from.
func (g *Gateway) process(ctx context.Context, body []byte, at route, from sink) (out reply) {
	kind := ""
	defer g.observe(time.Now(), &kind, &out)
	r, bad := parse(body, at.session, at.handle)
	if bad != nil {
		g.log.Debug("bad request", "error", bad["error"])
		return reply{msg: bad}
	}
	kind = r.janus
	if bad := g.unauthorized(r); bad != nil {
		return reply{msg: bad}
	}
	switch r.janus {
	case "info":
		return reply{msg: g.info(r.transaction)}
	case "ping":
		return reply{msg: M{"janus": "pong", "transaction": r.transaction}}
	case "create":
		if r.sessionID == 0 {
			return g.create(ctx, r, from)
		}
		// Inside a session (by path or body), as Janus 1.1.2 answers: the
		// session must exist, and create is no request there.
		if g.session(r.sessionID) == nil {
			return reply{msg: errReply(r.sessionID, r.transaction, errorf(CodeSessionNotFound, "No such session %d", r.sessionID))}
		}
		return reply{msg: errReply(r.sessionID, r.transaction, errorf(CodeUnknownRequest, "Unknown request 'create'"))}
	}
	if r.sessionID == 0 {
		// As Janus does: anything but info, ping and create needs a session.
		return reply{msg: errReply(0, r.transaction, errorf(CodeInvalidRequestPath, "Unhandled request '%s' at this path", r.janus))}
	}
	s := g.session(r.sessionID)
	if s == nil {
		return reply{msg: errReply(r.sessionID, r.transaction, errorf(CodeSessionNotFound, "No such session %d", r.sessionID))}
	}
	s.touch()
	switch requestLevels[r.janus] {
	case sessionLevel:
		if r.handleID != 0 {
			return reply{msg: errReply(s.id, r.transaction, errorf(CodeInvalidRequestPath, "Unhandled request '%s' at this path", r.janus))}
		}
	case handleLevel:
		if r.handleID == 0 {
			return reply{msg: errReply(s.id, r.transaction, errorf(CodeInvalidRequestPath, "Unhandled request '%s' at this path", r.janus))}
		}
	default:
		return reply{msg: errReply(s.id, r.transaction, errorf(CodeUnknownRequest, "Unknown request '%s'", r.janus))}
	}
	switch r.janus {
	case "keepalive":
		return reply{msg: M{"janus": "ack", "session_id": s.id, "transaction": r.transaction}}
	case "attach":
		return reply{msg: g.attach(s, r)}
	case "destroy":
		g.destroySession(s, "")
		return reply{msg: success(s, r)}
	case "claim":
		s.bind(from)
		return reply{msg: success(s, r), session: s}
	}
	s.mu.Lock()
	h := s.handles[r.handleID]
	s.mu.Unlock()
	if h == nil {
		return reply{msg: errReply(s.id, r.transaction, errorf(CodeHandleNotFound, "No such handle %d in session %d", r.handleID, s.id))}
	}
	switch r.janus {
	case "message":
		return reply{msg: g.message(ctx, s, h, r)}
	case "trickle":
		return reply{msg: g.trickle(s, h, r)}
	case "hangup":
		if !h.enqueue(func() { h.ps.Hangup(context.Background()) }) {
			return reply{msg: h.notTaken(r.transaction)}
		}
		return reply{msg: success(s, r)}
	default: // detach
		g.detach(s, h)
		return reply{msg: success(s, r)}
	}
}

// level is where a request belongs: on a session or on a handle.
type level int

const (
	unknownLevel level = iota
	sessionLevel
	handleLevel
)

// requestLevels places the requests inside a session.
var requestLevels = map[string]level{
	"attach": sessionLevel, "destroy": sessionLevel, "keepalive": sessionLevel, "claim": sessionLevel,
	"message": handleLevel, "trickle": handleLevel, "detach": handleLevel, "hangup": handleLevel,
}

// success is the plain answer to a session or handle request.
func success(s *Session, r *request) M {
	return M{"janus": "success", "session_id": s.id, "transaction": r.transaction}
}
