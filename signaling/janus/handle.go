package janus

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-mcu/tessera/room/rtc"
)

// handleQueueLen bounds a handle's pending asynchronous requests and
// events.
const handleQueueLen = 256

// maxTrickled bounds the candidates a handle may trickle after each offer:
// what a media session takes (the room refuses more for one ICE session,
// however many offers renegotiate it).
const maxTrickled = rtc.MaxRemoteCandidates

// Handle is a session's attachment to a plugin. Its requests run one at a
// time, in order, on the handle's own goroutine, which the gateway starts
// on attach and waits for on Close; detaching ends it.
type Handle struct {
	id      uint64
	session *Session
	plugin  Plugin
	ps      PluginSession
	opaque  string
	// token is the one the handle was attached with; created, when.
	token   string
	created time.Time

	tasks chan func()
	// stop asks the handle's goroutine to detach: it runs the requests
	// already queued, then the plugin's Detach, sends detached and ends.
	stop     chan struct{}
	stopOnce sync.Once

	// trickled counts the candidates the handle's trickles have handed
	// on since its last offer (see trickle).
	trickled atomic.Int64

	// sendMu orders the handle's messages with its detached: once gone,
	// nothing more about the handle reaches the client.
	sendMu sync.Mutex
	gone   bool
}

func newHandle(s *Session, p Plugin, opaque string) *Handle {
	return &Handle{session: s, plugin: p, opaque: opaque, tasks: make(chan func(), handleQueueLen),
		stop: make(chan struct{}), created: time.Now()}
}

// send delivers a message about the handle unless it was detached.
func (h *Handle) send(m M) {
	h.sendMu.Lock()
	defer h.sendMu.Unlock()
	if !h.gone {
		h.session.send(m)
	}
}

// detached sends the handle's last message.
func (h *Handle) detached() {
	h.sendMu.Lock()
	defer h.sendMu.Unlock()
	h.gone = true
	h.lifeEvent("detached")
	h.session.send(M{"janus": "detached", "session_id": h.session.id, "sender": h.id})
}

// run is the handle's goroutine.
func (h *Handle) run() {
	for {
		select {
		case fn := <-h.tasks:
			h.runTask(fn)
		case <-h.stop:
			h.finish()
			return
		}
	}
}

// finish detaches the handle: the requests queued before the detach run
// first, then the plugin's Detach (which may still report a hangup), then
// detached is sent, the handle's last word.
func (h *Handle) finish() {
	for drained := false; !drained; {
		select {
		case fn := <-h.tasks:
			h.runTask(fn)
		default:
			drained = true
		}
	}
	h.runTask(func() { h.ps.Detach(context.Background()) })
	h.detached()
}

// requestStop asks the handle to detach; only the first call counts.
func (h *Handle) requestStop() { h.stopOnce.Do(func() { close(h.stop) }) }

// panics counts the panics recovered in handles' requests.
var panics atomic.Uint64

// Panics is how many panics in plugin requests were recovered since the
// process started; each cost that request's answer, nothing more.
func Panics() uint64 { return panics.Load() }

// runTask runs one of the handle's requests. A panic in it (a bug in a
// plugin) is recovered and logged with its stack: the request gets no
// answer, the handle, its session and every other client go on.
func (h *Handle) runTask(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			n := panics.Add(1)
			gw := h.session.gw
			gw.logs.panics.Log(gw.log, slog.LevelError, "plugin request panicked", "session", h.session.id, "handle", h.id,
				"panic", fmt.Sprint(v), "panics", n, "stack", string(debug.Stack()))
		}
	}()
	fn()
}

// enqueue runs fn on the handle's own goroutine, in order with its other
// requests and events. It reports false when the handle is detaching or
// its queue is full.
func (h *Handle) enqueue(fn func()) bool {
	select {
	case <-h.stop:
		return false
	default:
	}
	select {
	case h.tasks <- fn:
		return true
	default:
		gw := h.session.gw
		gw.logs.handleQueue.Warn(gw.log, "handle queue full; dropping", "session", h.session.id, "handle", h.id)
		return false
	}
}

// notTaken answers a request the handle could not queue: 459 when the
// handle is going away meanwhile, 462 when its queue is full (a client
// far ahead of its plugin).
func (h *Handle) notTaken(tx string) M {
	select {
	case <-h.stop:
		return errReply(h.session.id, tx, errorf(CodeHandleNotFound, "No such handle %d in session %d", h.id, h.session.id))
	default:
		return errReply(h.session.id, tx, errorf(CodePluginMessage, "Handle busy: request not taken"))
	}
}

// ID implements HandleContext.
func (h *Handle) ID() uint64 { return h.id }

// SessionID implements HandleContext.
func (h *Handle) SessionID() uint64 { return h.session.id }

// Event implements HandleContext: an unsolicited plugin event.
func (h *Handle) Event(data any, jsep *JSEP) {
	h.jsepEvent("local", jsep)
	h.send(h.pluginEvent("", data, jsep))
}

func (h *Handle) pluginEvent(tx string, data any, jsep *JSEP) M {
	m := M{"janus": "event", "session_id": h.session.id, "sender": h.id,
		"plugindata": M{"plugin": h.plugin.Package(), "data": data}}
	if tx != "" {
		m["transaction"] = tx
	}
	if jsep != nil {
		m["jsep"] = jsep
	}
	return m
}

// WebRTCUp implements HandleContext.
func (h *Handle) WebRTCUp() {
	h.webrtcUpEvent()
	h.send(M{"janus": "webrtcup", "session_id": h.session.id, "sender": h.id})
}

// Media implements HandleContext.
func (h *Handle) Media(mid, kind string, receiving bool) {
	h.mediaEvent(mid, kind, receiving)
	h.send(M{"janus": "media", "session_id": h.session.id, "sender": h.id, "mid": mid, "type": kind, "receiving": receiving})
}

// HangupEvent implements HandleContext.
func (h *Handle) HangupEvent(reason string) {
	h.hangupEvent(reason)
	h.send(M{"janus": "hangup", "session_id": h.session.id, "sender": h.id, "reason": reason})
}

// SlowLink implements HandleContext.
func (h *Handle) SlowLink(mid, kind string, uplink bool, lost int) {
	h.slowLinkEvent(mid, kind, uplink, lost)
	h.send(M{"janus": "slowlink", "session_id": h.session.id, "sender": h.id, "mid": mid, "media": kind, "uplink": uplink, "lost": lost})
}

var _ HandleContext = (*Handle)(nil)
