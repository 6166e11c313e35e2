package janus

import (
	"context"
	"net/url"
)

// A transport (HTTP with long poll, WebSocket) carries requests to the
// gateway and its answers and events back to the client. The two meet
// through three small types: the transport hands each request to a core
// with its sink, the gateway answers with a reply, and a session's events
// go to the sink it is bound to.

// sink takes the events of the sessions bound to it to their client: a
// WebSocket. deliver must not block.
type sink interface {
	deliver(m M)
}

// route is the session and handle an HTTP request's path names (zero on
// WebSocket, where they travel in the request).
type route struct {
	session, handle uint64
}

// reply is the gateway's answer to one request.
type reply struct {
	// msg goes back to the client as the request's answer.
	msg M
	// session is the session the request created or claimed. It is bound
	// to the sink the request came with: its events go there from now on
	// (with no sink, they wait in its queue for a long poll).
	session *Session
}

// core is what a transport needs of the gateway.
type core interface {
	// process answers one request; from is the transport's sink (nil for
	// HTTP).
	process(ctx context.Context, body []byte, at route, from sink) reply
	// poll waits for a session's events: at most max of them, or none
	// when its poll timeout passes or it ends. It fails with errNoSession
	// when there is no such session, or its events go to a sink (a
	// WebSocket) rather than to long polls, and with errTooManyPolls when
	// the session has as many polls waiting as it may.
	poll(ctx context.Context, session uint64, max int) ([]M, error)
	// unbind tells the gateway that sink k is going away. A session still
	// bound to it ends with it, as Janus ends a WebSocket's sessions with
	// the socket (its reclaim timeout is zero).
	unbind(s *Session, k sink)
	// info is the server_info answer.
	info(tx string) M
	// pollAllowed reports whether a long poll's query (apisecret, token)
	// authorizes it.
	pollAllowed(q url.Values) bool
}

var _ core = (*Gateway)(nil)

// stopper is a transport with connections of its own (WebSocket): the
// gateway stops it last on Close, and stop returns once every connection
// has ended.
type stopper interface {
	stop()
}
