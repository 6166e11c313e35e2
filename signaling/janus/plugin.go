package janus

import (
	"context"
	"encoding/json"
)

// PluginInfo describes a plugin in server_info.
type PluginInfo struct {
	Name          string `json:"name"`
	Author        string `json:"author"`
	Description   string `json:"description"`
	VersionString string `json:"version_string"`
	Version       int    `json:"version"`
}

// JSEP is a session description attached to a message or event.
type JSEP struct {
	Type    string `json:"type"`
	SDP     string `json:"sdp"`
	Trickle *bool  `json:"trickle,omitempty"`
}

// Candidate is one trickled ICE candidate.
type Candidate struct {
	Candidate     string  `json:"candidate"`
	SDPMid        *string `json:"sdpMid,omitempty"`
	SDPMLineIndex *uint16 `json:"sdpMLineIndex,omitempty"`
	Completed     bool    `json:"completed,omitempty"`
}

// Plugin is a Janus plugin: it gives handles attached to it their meaning.
type Plugin interface {
	// Package is the name clients attach to, e.g. janus.plugin.audiobridge.
	Package() string
	Info() PluginInfo
	// Attach creates the plugin's state for a new handle.
	Attach(h HandleContext) (PluginSession, error)
}

// PluginSession is a plugin's state for one handle.
type PluginSession interface {
	// Async reports whether a request body is answered asynchronously
	// (ack now, event later) rather than in the reply.
	Async(body json.RawMessage) bool
	// Handle answers one message. For synchronous requests the result is
	// the reply's plugindata; for asynchronous ones the gateway sends it as
	// an event carrying the request's transaction. ClientAddr(ctx) is the
	// address the request came from.
	Handle(ctx context.Context, body json.RawMessage, jsep *JSEP) (data any, answer *JSEP)
	// Trickle adds the remote candidates of one trickle request, all at
	// once (completed marks the end).
	Trickle(ctx context.Context, cs []Candidate) error
	// Hangup closes the handle's PeerConnection.
	Hangup(ctx context.Context)
	// Detach releases everything (the handle is going away). A handle
	// that had a PeerConnection reports HangupEvent before Detach returns:
	// the gateway then sends detached, after which nothing about the
	// handle reaches the client. Detach returns once every goroutine the
	// plugin runs for the handle has ended: Gateway.Close relies on it.
	Detach(ctx context.Context)
}

// clientKey is the context key of the client's address.
type clientKey struct{}

// withClient returns ctx carrying the network address of the client a
// request came from.
func withClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// WithClientAddr returns ctx carrying addr as the client's address, for
// a plugin request that arrives by another way than the gateway's
// transports (a request relayed from another node of a cluster): the
// plugin's guess limiter then counts that client's wrong secrets and
// PINs by its own address.
func WithClientAddr(ctx context.Context, addr string) context.Context { return withClient(ctx, addr) }

// ClientAddr is the network address ("host:port") of the client whose
// request a plugin is handling, from the context Handle gets; "" when
// unknown.
func ClientAddr(ctx context.Context) string {
	addr, _ := ctx.Value(clientKey{}).(string)
	return addr
}

// HandleContext is what a plugin may do with its handle: push events to
// the client.
type HandleContext interface {
	ID() uint64
	SessionID() uint64
	// Event sends an unsolicited plugin event.
	Event(data any, jsep *JSEP)
	// WebRTCUp reports that the PeerConnection is up.
	WebRTCUp()
	// Media reports that media of one kind started or stopped arriving.
	Media(mid, kind string, receiving bool)
	// HangupEvent reports that the PeerConnection went away.
	HangupEvent(reason string)
	// SlowLink reports packet loss on one medium: uplink on what the
	// client sends, else on what it receives; lost per second.
	SlowLink(mid, kind string, uplink bool, lost int)
	// Notify reports a plugin event to the operator's event handlers
	// (not to the client), as Janus plugins' notify_event does.
	Notify(data any)
}
