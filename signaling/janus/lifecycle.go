package janus

import (
	"context"

	"github.com/tessera-mcu/tessera/internal/jsid"
)

// The core requests that make and end sessions and handles: create,
// attach, detach, destroy (claim rebinds a session; see process).

func (g *Gateway) create(ctx context.Context, r *request, from sink) reply {
	id, err := r.raw.uint("id", false)
	if err != nil {
		return reply{msg: errReply(0, r.transaction, coreError(err))}
	}
	if id > jsid.Max {
		return reply{msg: errReply(0, r.transaction, errorf(CodeInvalidElementType, "Invalid element type (id should be a positive integer below 2^53)"))}
	}
	if refused := g.admitSession(ctx, r.transaction); refused != nil {
		return reply{msg: refused}
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return reply{msg: errReply(0, r.transaction, errorf(CodeNotAcceptingSession, "Not accepting new sessions"))}
	}
	if refused := g.tooManySessions(r.transaction); refused != nil {
		g.mu.Unlock()
		return reply{msg: refused}
	}
	if id == 0 {
		for id == 0 || g.sessions[id] != nil {
			id = jsid.New()
		}
	} else if g.sessions[id] != nil {
		g.mu.Unlock()
		return reply{msg: errReply(0, r.transaction, errorf(CodeSessionConflict, "Session ID already in use"))}
	}
	s := newSession(id, g, from)
	g.sessions[id] = s
	g.mu.Unlock()
	g.log.Debug("session created", "session", id)
	g.sessionEvent(s, "created", from)
	// No session_id here: janode routes any message with one to its session
	// map and would never see this reply.
	return reply{msg: M{"janus": "success", "transaction": r.transaction, "data": M{"id": id}}, session: s}
}

func (g *Gateway) attach(s *Session, r *request) M {
	name, err := r.raw.str("plugin", true)
	if err != nil {
		return errReply(s.id, r.transaction, coreError(err))
	}
	p := g.plugins[name]
	if p == nil {
		return errReply(s.id, r.transaction, errorf(CodePluginNotFound, "No such plugin '%s'", name))
	}
	if e := g.attachRefused(r, name); e != nil {
		return errReply(s.id, r.transaction, e)
	}
	opaque, err := r.raw.str("opaque_id", false)
	if err != nil {
		return errReply(s.id, r.transaction, coreError(err))
	}
	h := newHandle(s, p, opaque)
	h.token = stringField(r.raw, "token")
	s.mu.Lock()
	if s.destroyed {
		s.mu.Unlock()
		return errReply(s.id, r.transaction, errorf(CodeSessionNotFound, "No such session %d", s.id))
	}
	if refused := g.tooManyHandles(s, r.transaction); refused != nil {
		s.mu.Unlock()
		return refused
	}
	for h.id == 0 || s.handles[h.id] != nil {
		h.id = jsid.New()
	}
	// Counted while the session is alive, so before Close can wait: from
	// here Close waits for the handle, even one whose session ends while
	// its plugin attaches.
	g.wg.Add(1)
	s.mu.Unlock()
	running := false
	defer func() {
		if !running {
			g.wg.Done()
		}
	}()
	ps, err := p.Attach(h)
	if err != nil {
		return errReply(s.id, r.transaction, errorf(CodePluginAttach, "Couldn't attach to plugin: %v", err))
	}
	h.ps = ps
	s.mu.Lock()
	if s.destroyed || s.handles[h.id] != nil {
		// Destroyed (or, vanishingly unlikely, the ID taken) while the
		// plugin attached: nothing else would ever detach this handle.
		taken := !s.destroyed
		s.mu.Unlock()
		ps.Detach(context.Background())
		if taken {
			return errReply(s.id, r.transaction, errorf(CodeUnknown, "Handle ID taken meanwhile: attach again"))
		}
		return errReply(s.id, r.transaction, errorf(CodeSessionNotFound, "No such session %d", s.id))
	}
	s.handles[h.id] = h
	s.mu.Unlock()
	h.lifeEvent("attached")
	running = true
	go func() {
		defer g.wg.Done()
		h.run()
	}()
	return M{"janus": "success", "session_id": s.id, "transaction": r.transaction, "data": M{"id": h.id}}
}

// detach takes a handle off its session. Its goroutine then runs what is
// queued, the plugin's Detach and sends detached (see Handle.finish).
func (g *Gateway) detach(s *Session, h *Handle) {
	s.mu.Lock()
	delete(s.handles, h.id)
	s.mu.Unlock()
	h.requestStop()
}

// destroySession ends a session and detaches its handles. reason
// "timeout" also tells the client. The session is marked destroyed
// before it leaves the gateway's list, so a handle can be attached to no
// session Close does not see.
func (g *Gateway) destroySession(s *Session, reason string) {
	s.mu.Lock()
	if s.destroyed {
		s.mu.Unlock()
		return
	}
	s.destroyed = true
	hs := make([]*Handle, 0, len(s.handles))
	for _, h := range s.handles {
		hs = append(hs, h)
	}
	s.mu.Unlock()
	g.mu.Lock()
	delete(g.sessions, s.id)
	g.mu.Unlock()
	for _, h := range hs {
		g.detach(s, h)
	}
	if reason == "timeout" {
		g.sessionEvent(s, "timeout", nil)
		s.send(M{"janus": "timeout", "session_id": s.id})
	} else {
		g.sessionEvent(s, "destroyed", nil)
	}
	s.end()
}
