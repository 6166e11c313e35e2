package cluster

import (
	"encoding/json"
	"strings"

	rc "github.com/tessera-mcu/tessera/room/cluster"
	"github.com/tessera-mcu/tessera/signaling/janus"
)

// What relayed handles send over the bus. Requests go from the origin
// (the node holding the client's Janus session) to the room's host with
// Node.Request; the host's events for a handle go back in order, in
// batches published on the room's event channel (Store.Publish), which
// the origin subscribes to while one of its handles is bound to the
// room.

// Bus methods a node serves.
const (
	methodMessage = "janus.message"
	methodTrickle = "janus.trickle"
	methodHangup  = "janus.hangup"
	methodDetach  = "janus.detach"
	methodList    = "janus.list"
)

// handleRef names a relayed handle; its origin is the requesting node.
type handleRef struct {
	Plugin  string    `json:"plugin"`
	Session uint64    `json:"session"`
	Handle  uint64    `json:"handle"`
	Room    rc.RoomID `json:"room"`
	// Bound: the origin holds the handle bound to this host (the host
	// must know it; a one-shot request otherwise).
	Bound bool `json:"bound,omitempty"`
	// Token names one binding of the handle (chosen by the origin for
	// a join): the host stamps the binding's events with it, so events
	// of an earlier binding of the same handle are told apart.
	Token uint64 `json:"token,omitempty"`
}

// messageRequest is a plugin message of a relayed handle.
type messageRequest struct {
	handleRef
	Body   json.RawMessage `json:"body"`
	JSEP   *janus.JSEP     `json:"jsep,omitempty"`
	Client string          `json:"client,omitempty"`
}

// messageReply is the plugin's answer.
type messageReply struct {
	Data json.RawMessage `json:"data"`
	JSEP *janus.JSEP     `json:"jsep,omitempty"`
	// Bound: the host keeps the handle (it joined and has not left).
	Bound bool `json:"bound"`
	// Seq is the last event the host sent about the handle before this
	// reply: the origin delivers those first.
	Seq uint64 `json:"seq"`
	// Gone: the host does not know the bound handle.
	Gone bool `json:"gone,omitempty"`
}

// trickleRequest carries one trickle's candidates.
type trickleRequest struct {
	handleRef
	Candidates []janus.Candidate `json:"candidates"`
}

// handleReply answers trickle, hangup and detach.
type handleReply struct {
	Seq  uint64 `json:"seq"`
	Gone bool   `json:"gone,omitempty"`
	Err  string `json:"err,omitempty"`
}

// listRequest asks a node for its plugin's list of the rooms it hosts.
type listRequest struct {
	Plugin string `json:"plugin"`
}

// listReply is that list, one JSON object per room.
type listReply struct {
	List []json.RawMessage `json:"list"`
}

// Event kinds of a relayed handle: what its HandleContext was told.
const (
	kindEvent    = "event"
	kindWebRTCUp = "webrtcup"
	kindMedia    = "media"
	kindHangup   = "hangup"
	kindSlowLink = "slowlink"
	kindNotify   = "notify"
	// kindUnbound: the handle's participant ended on the host (kicked,
	// or its room destroyed); the origin unbinds the handle.
	kindUnbound = "unbound"
)

// relayEvent is one thing a host's plugin told a relayed handle.
type relayEvent struct {
	Seq       uint64          `json:"seq"`
	Kind      string          `json:"kind"`
	Data      json.RawMessage `json:"data,omitempty"`
	JSEP      *janus.JSEP     `json:"jsep,omitempty"`
	Mid       string          `json:"mid,omitempty"`
	Media     string          `json:"media,omitempty"`
	Receiving bool            `json:"receiving,omitempty"`
	Uplink    bool            `json:"uplink,omitempty"`
	Lost      int             `json:"lost,omitempty"`
	Reason    string          `json:"reason,omitempty"`
}

// relayBatch is what a host publishes on a room's event channel: events
// of one relayed handle, in order.
type relayBatch struct {
	Relay *batch `json:"relay"`
}

type batch struct {
	Host    rc.NodeID    `json:"host"`
	Origin  rc.NodeID    `json:"origin"`
	Plugin  string       `json:"plugin"`
	Session uint64       `json:"session"`
	Handle  uint64       `json:"handle"`
	Token   uint64       `json:"token"`
	Events  []relayEvent `json:"events"`
}

// answer is the part of a plugin answer the relay reads: the plugin's
// key ("joined", "left", "event", ...) and the numbers it names.
type answer struct {
	kind    string
	room    uint64
	id      uint64
	kicked  uint64
	leaving uint64
	code    int
}

// readAnswer reads a room plugin's answer or event (key is the plugin's
// first key, e.g. "audiobridge").
func readAnswer(key string, data json.RawMessage) answer {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return answer{}
	}
	var a answer
	_ = json.Unmarshal(m[key], &a.kind)
	_ = json.Unmarshal(m["room"], &a.room)
	_ = json.Unmarshal(m["id"], &a.id)
	_ = json.Unmarshal(m["kicked"], &a.kicked)
	_ = json.Unmarshal(m["leaving"], &a.leaving)
	_ = json.Unmarshal(m["error_code"], &a.code)
	return a
}

// peek reads a request body's request name (lower case) and room.
func peek(body json.RawMessage) (req string, room uint64, hasRoom bool) {
	var b struct {
		Request string          `json:"request"`
		Room    json.RawMessage `json:"room"`
	}
	if json.Unmarshal(body, &b) != nil {
		return "", 0, false
	}
	req = strings.ToLower(b.Request)
	if len(b.Room) == 0 || json.Unmarshal(b.Room, &room) != nil || room == 0 {
		return req, 0, false
	}
	return req, room, true
}

// pluginKey is the key a room plugin's answers begin with: the last part
// of its package name (janus.plugin.audiobridge: audiobridge).
func pluginKey(pkg string) string {
	if i := strings.LastIndexByte(pkg, '.'); i >= 0 {
		return pkg[i+1:]
	}
	return pkg
}

// errorData is a plugin error answer in the room plugins' shape.
func errorData(key string, code int, msg string) janus.M {
	return janus.M{key: "event", "error_code": code, "error": msg}
}

// Plugin error codes the relay answers with (the room plugins' own).
const (
	codeNoSuchRoom   = 485
	codeUnknownError = 499
)
