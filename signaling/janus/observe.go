package janus

import "time"

// RequestObserver learns of every Janus API request the gateway answers
// (metrics). It is called on the request's goroutine once the answer is
// ready, so it must be quick and must not block.
type RequestObserver interface {
	// ObserveRequest tells of one request: its type (one of
	// RequestTypes), the Janus error code of its answer (0: none) and how
	// long answering took. A plugin message's answer is its
	// acknowledgement or its synchronous result; what the plugin sends
	// later as events is not part of it.
	ObserveRequest(request string, code int, took time.Duration)
}

// RequestTypes are the request types observers are told of: the Janus
// API's, "invalid" for a request that could not be parsed and "unknown"
// for any other type a client sent (so the set stays bounded).
var RequestTypes = []string{
	"info", "ping", "create", "attach", "destroy", "keepalive", "claim",
	"message", "trickle", "detach", "hangup", "invalid", "unknown",
}

// observe tells the observer of a request answered now that started at
// start; kind is its type as sent ("": it could not be parsed).
func (g *Gateway) observe(start time.Time, kind *string, out *reply) {
	o := g.opts.Observer
	if o == nil {
		return
	}
	code := 0
	if e, ok := out.msg["error"].(*Error); ok {
		code = e.Code
	}
	o.ObserveRequest(requestType(*kind), code, time.Since(start))
}

// requestType bounds a request's type to RequestTypes.
func requestType(kind string) string {
	switch kind {
	case "":
		return "invalid"
	case "info", "ping", "create":
		return kind
	}
	if requestLevels[kind] != unknownLevel {
		return kind
	}
	return "unknown"
}

// Counts are how many sessions and handles a gateway holds.
type Counts struct {
	Sessions, Handles int
}

// Counts returns how many sessions and handles the gateway holds now.
func (g *Gateway) Counts() Counts {
	g.mu.Lock()
	sessions := make([]*Session, 0, len(g.sessions))
	for _, s := range g.sessions {
		sessions = append(sessions, s)
	}
	g.mu.Unlock()
	c := Counts{Sessions: len(sessions)}
	for _, s := range sessions {
		s.mu.Lock()
		c.Handles += len(s.handles)
		s.mu.Unlock()
	}
	return c
}
