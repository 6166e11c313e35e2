package events

import (
	"fmt"
	"strings"
)

// Type is an event's kind, a bit of Janus's event mask (Janus's events.h
// numbers them the same way).
type Type int

// The event types. Tessera emits session, handle, jsep, webrtc, media and
// plugin events; its own room and recording events are plugin events of
// the plugin named RoomPlugin.
const (
	TypeSession   Type = 1 << 0
	TypeHandle    Type = 1 << 1
	TypeExternal  Type = 1 << 2
	TypeJSEP      Type = 1 << 3
	TypeWebRTC    Type = 1 << 4
	TypeMedia     Type = 1 << 5
	TypePlugin    Type = 1 << 6
	TypeTransport Type = 1 << 7
	TypeCore      Type = 1 << 8
)

// Subtypes of TypeWebRTC events, as Janus numbers them.
const (
	SubtypeICE        = 1
	SubtypeDTLS       = 5
	SubtypeConnection = 6
)

// Subtypes of TypeMedia events, as Janus numbers them.
const (
	SubtypeMediaState = 1
	SubtypeSlowLink   = 2
)

// RoomPlugin is the plugin name of Tessera's own room lifecycle and
// recording events (created, destroyed, recording-finished).
const RoomPlugin = "tessera.room"

// typeNames are the names a filter may use, as in Janus's "events"
// setting.
var typeNames = map[string]Type{
	"sessions": TypeSession, "session": TypeSession,
	"handles": TypeHandle, "handle": TypeHandle,
	"external": TypeExternal,
	"jsep":     TypeJSEP,
	"webrtc":   TypeWebRTC,
	"media":    TypeMedia,
	"plugins":  TypePlugin, "plugin": TypePlugin,
	"transports": TypeTransport, "transport": TypeTransport,
	"core": TypeCore,
}

// Event is one event in Janus's event handler format. The dispatcher
// fills Emitter and, when zero, Timestamp.
type Event struct {
	// Emitter names the server (the dispatcher's Options.Emitter).
	Emitter string `json:"emitter,omitempty"`
	Type    Type   `json:"type"`
	// Subtype refines webrtc and media events (SubtypeICE, ...).
	Subtype int `json:"subtype,omitempty"`
	// Timestamp is when it happened, in microseconds since the Unix
	// epoch.
	Timestamp int64  `json:"timestamp"`
	SessionID uint64 `json:"session_id,omitempty"`
	HandleID  uint64 `json:"handle_id,omitempty"`
	OpaqueID  string `json:"opaque_id,omitempty"`
	// Event is the type's own payload, e.g. {"name":"created"} for a
	// session, {"plugin":"...","data":{...}} for a plugin.
	Event any `json:"event"`
}

// Mask is a set of event types.
type Mask Type

// MaskAll lets every type through.
const MaskAll = Mask(TypeSession | TypeHandle | TypeExternal | TypeJSEP | TypeWebRTC | TypeMedia |
	TypePlugin | TypeTransport | TypeCore)

// Has reports whether t is in the set.
func (m Mask) Has(t Type) bool { return Type(m)&t != 0 }

// ParseMask reads a filter the way Janus reads its "events" setting:
// "all" (or empty), "none", or a comma-separated list of sessions,
// handles, external, jsep, webrtc, media, plugins, transports and core
// (singular names work too).
func ParseMask(s string) (Mask, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "", "all":
		return MaskAll, nil
	case "none":
		return 0, nil
	}
	var m Mask
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		t, ok := typeNames[name]
		if !ok {
			return 0, fmt.Errorf("%w: %q (want all, none or a list of %s)", ErrInvalidTypes, name, typeList)
		}
		m |= Mask(t)
	}
	return m, nil
}

// typeList names the types for error messages.
const typeList = "sessions, handles, external, jsep, webrtc, media, plugins, transports, core"
