package janus

import (
	"context"
	"encoding/json"
	"time"
)

// The admin API's requests about plugins and handles: message_plugin
// hands a request to a plugin; handle_info describes a handle, with what
// its plugin adds.

// AdminMessenger is a plugin that answers requests sent to it through the
// admin API's message_plugin (the room plugins: their room management
// requests). The answer is the reply's "response".
type AdminMessenger interface {
	AdminMessage(ctx context.Context, request json.RawMessage) any
}

// handleInfoer is a plugin's state for a handle that describes itself in
// handle_info's "plugin_specific".
type handleInfoer interface {
	HandleInfo(ctx context.Context) M
}

// adminMessagePlugin forwards "request" to the plugin named by "plugin"
// and answers {"janus":"success","response":...}, as Janus does.
func (g *Gateway) adminMessagePlugin(ctx context.Context, r *request) M {
	name, err := r.raw.str("plugin", true)
	if err != nil {
		return errReply(0, r.transaction, coreError(err))
	}
	p := g.plugins[name]
	if p == nil {
		return errReply(0, r.transaction, errorf(CodePluginNotFound, "Invalid plugin"))
	}
	body := json.RawMessage(`{}`)
	if r.raw.has("request") {
		if body, err = r.raw.object("request"); err != nil {
			return errReply(0, r.transaction, coreError(err))
		}
	}
	am, ok := p.(AdminMessenger)
	if !ok {
		return errReply(0, r.transaction, errorf(CodePluginMessage, "Plugin doesn't support Admin API messages"))
	}
	return M{"janus": "success", "transaction": r.transaction, "response": am.AdminMessage(ctx, body)}
}

// handleInfo is Janus's handle_info answer where it applies: times are
// microseconds since the gateway started (Janus: a monotonic clock), the
// session's transport is janus.transport.websockets while a socket holds
// it, else janus.transport.http. plugin_specific is the plugin's own
// description (see roomSession.HandleInfo); Janus's ICE, DTLS and SDP
// details are not given.
func (g *Gateway) handleInfo(ctx context.Context, s *Session, h *Handle, r *request) M {
	since := func(t time.Time) int64 { return t.Sub(g.started).Microseconds() }
	transport := "janus.transport.http"
	if !s.boundTo(nil) {
		transport = "janus.transport.websockets"
	}
	info := M{
		"session_id": s.id, "session_last_activity": since(time.Unix(0, s.last.Load())),
		"session_timeout": int(g.sessionTimeout().Seconds()), "session_transport": transport,
		"handle_id": h.id, "created": since(h.created), "current_time": since(time.Now()),
		"plugin": h.plugin.Package(),
	}
	if h.opaque != "" {
		info["opaque_id"] = h.opaque
	}
	if h.token != "" && g.opts.TokenAuth {
		info["token"] = h.token
	}
	if hi, ok := h.ps.(handleInfoer); ok {
		info["plugin_specific"] = hi.HandleInfo(ctx)
	}
	return M{"janus": "success", "session_id": s.id, "transaction": r.transaction, "handle_id": h.id, "info": info}
}
