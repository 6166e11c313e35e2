package janus

import (
	"strings"

	"github.com/tessera-mcu/tessera/signaling/events"
)

// EventSink takes the gateway's events for the operator's event handlers
// (an events.Dispatcher). Emit must not block: it is called on request
// paths and handle goroutines.
type EventSink interface {
	Emit(e events.Event)
}

// Transport names in session events, as Janus names its transports.
const (
	transportHTTP = "janus.transport.http"
	transportWS   = "janus.transport.websockets"
)

// emit hands an event to the sink, if there is one.
func (g *Gateway) emit(e events.Event) {
	if g.opts.Events != nil {
		g.opts.Events.Emit(e)
	}
}

// sessionEvent reports a session created ("created", with the transport
// it came over), destroyed ("destroyed") or timed out ("timeout").
func (g *Gateway) sessionEvent(s *Session, name string, from sink) {
	ev := M{"name": name}
	if name == "created" {
		t := transportHTTP
		if from != nil {
			t = transportWS
		}
		ev["transport"] = M{"transport": t}
	}
	g.emit(events.Event{Type: events.TypeSession, SessionID: s.id, Event: ev})
}

// handleEvent builds an event about the handle.
func (h *Handle) handleEvent(t events.Type, subtype int, ev any) events.Event {
	return events.Event{Type: t, Subtype: subtype, SessionID: h.session.id, HandleID: h.id, OpaqueID: h.opaque, Event: ev}
}

func (h *Handle) emit(t events.Type, subtype int, ev any) {
	h.session.gw.emit(h.handleEvent(t, subtype, ev))
}

// lifeEvent reports the handle "attached" or "detached".
func (h *Handle) lifeEvent(name string) {
	ev := M{"name": name, "plugin": h.plugin.Package()}
	if h.opaque != "" {
		ev["opaque_id"] = h.opaque
	}
	h.emit(events.TypeHandle, 0, ev)
}

// jsepEvent reports a session description the client sent ("remote") or
// was sent ("local"); nil reports nothing.
func (h *Handle) jsepEvent(owner string, j *JSEP) {
	if j == nil {
		return
	}
	h.emit(events.TypeJSEP, 0, M{"owner": owner, "jsep": M{"type": j.Type, "sdp": j.SDP}})
}

// Notify implements HandleContext: a plugin event for the event
// handlers, {"plugin": ..., "data": data}.
func (h *Handle) Notify(data any) {
	h.emit(events.TypePlugin, 0, M{"plugin": h.plugin.Package(), "data": data})
}

// webrtcUpEvent reports the PeerConnection up: ICE connected, DTLS
// connected, then webrtcup, as Janus reports them.
func (h *Handle) webrtcUpEvent() {
	h.emit(events.TypeWebRTC, events.SubtypeICE, M{"ice": "connected"})
	h.emit(events.TypeWebRTC, events.SubtypeDTLS, M{"dtls": "connected"})
	h.emit(events.TypeWebRTC, events.SubtypeConnection, M{"connection": "webrtcup"})
}

// hangupEvent reports the PeerConnection gone, and why; a failed ICE
// check is also an ICE state.
func (h *Handle) hangupEvent(reason string) {
	if strings.Contains(reason, "ice") {
		h.emit(events.TypeWebRTC, events.SubtypeICE, M{"ice": "failed"})
	}
	h.emit(events.TypeWebRTC, events.SubtypeConnection, M{"connection": "hangup", "reason": reason})
}

// mediaEvent reports media of one kind starting or stopping to arrive.
func (h *Handle) mediaEvent(mid, kind string, receiving bool) {
	h.emit(events.TypeMedia, events.SubtypeMediaState, M{"mid": mid, "media": kind, "receiving": receiving})
}

// slowLinkEvent reports packet loss on one medium.
func (h *Handle) slowLinkEvent(mid, kind string, uplink bool, lost int) {
	dir := "downlink"
	if uplink {
		dir = "uplink"
	}
	h.emit(events.TypeMedia, events.SubtypeSlowLink, M{"mid": mid, "media": kind, "slow_link": dir, "lost_lastsec": lost})
}
