package room

import (
	"sync"
	"sync/atomic"
)

// EventKind says what happened in a room.
type EventKind int

// Room events.
const (
	// EventJoined: a participant joined (Info is the newcomer).
	EventJoined EventKind = iota + 1
	// EventUpdated: a participant's state changed (mute, display name,
	// media set up).
	EventUpdated
	// EventLeft: a participant left or was kicked (Reason says which).
	EventLeft
	// EventTalking and EventStoppedTalking follow voice activity.
	EventTalking
	EventStoppedTalking
	// EventMediaUp: the participant's media connection came up (for
	// WebRTC: ICE and DTLS up).
	EventMediaUp
	// EventMedia: media from the participant started or stopped arriving
	// (Receiving).
	EventMedia
	// EventHangup: the participant's media connection failed or closed.
	EventHangup
	// EventDestroyed: the room was destroyed; no further events follow.
	EventDestroyed
	// EventRoomMuted: the whole room was muted or unmuted (Muted).
	EventRoomMuted
	// EventLayout: the composite's layout changed (Layout; Participant is
	// the pinned one).
	EventLayout
	// EventRecording: a recording started or stopped (Recording, Path;
	// Reason says why it stopped, e.g. a disk error).
	EventRecording
	// EventSlowLink: a participant's media is losing packets (Media;
	// Uplink: what it sends, else what it receives; Lost per second).
	EventSlowLink
	// EventTier: a viewer was put on a tier of the composite (Tier,
	// Width, Height).
	EventTier
	// EventStream: a live stream started (Streaming), stopped (not
	// Streaming; Reason says why: "stopped", "error: …", "room
	// destroyed"), or its sink reported a change (State, Reason).
	EventStream
	// EventCall: a dial-out call progressed (Call; State is one of the
	// Call* states, Reason says why it ended).
	EventCall
)

func (k EventKind) String() string {
	switch k {
	case EventJoined:
		return "joined"
	case EventUpdated:
		return "updated"
	case EventLeft:
		return "left"
	case EventTalking:
		return "talking"
	case EventStoppedTalking:
		return "stopped-talking"
	case EventMediaUp:
		return "media-up"
	case EventMedia:
		return "media"
	case EventHangup:
		return "hangup"
	case EventDestroyed:
		return "destroyed"
	case EventRoomMuted:
		return "room-muted"
	case EventLayout:
		return "layout"
	case EventRecording:
		return "recording"
	case EventSlowLink:
		return "slowlink"
	case EventTier:
		return "tier"
	case EventStream:
		return "stream"
	case EventCall:
		return "call"
	}
	return "unknown"
}

// Event is one thing that happened in a room.
type Event struct {
	Kind        EventKind
	Room        RoomID
	Participant ParticipantID
	// Info is the participant's state after the event (for joined,
	// updated, left, talking and media events).
	Info ParticipantInfo
	// Media is "audio" or "video" for EventMedia.
	Media     string
	Receiving bool
	// Muted is the room's state for EventRoomMuted.
	Muted bool
	// Layout is the new layout for EventLayout.
	Layout string
	// Recording and Path describe EventRecording.
	Recording bool
	Path      string
	// Reason explains left and hangup events ("left", "kicked", "moved",
	// "destroyed", "ice-failed", "closed").
	Reason string
	// ByModerator: an EventUpdated someone else caused (see Update).
	ByModerator bool
	// Uplink and Lost describe EventSlowLink.
	Uplink bool
	Lost   int
	// Tier, Width and Height describe EventTier.
	Tier, Width, Height int
	// Stream, Streaming and State describe EventStream.
	Stream    StreamInfo
	Streaming bool
	State     string
	// Call describes EventCall (with State and Reason).
	Call CallInfo
}

// Subscription delivers a room's events in order. When the subscriber
// falls behind by more than its buffer, events are dropped and counted
// rather than stalling the room.
type Subscription struct {
	C       <-chan Event
	ch      chan Event
	dropped atomic.Uint64
	hub     *hub
	once    sync.Once
}

// Dropped is how many events were lost because the subscriber was slow.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close stops delivery and closes C.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.hub.remove(s)
		close(s.ch)
	})
}

// hub fans events out to subscriptions.
type hub struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
	done bool
}

func (h *hub) subscribe(buf int) *Subscription {
	if buf <= 0 {
		buf = 256
	}
	ch := make(chan Event, buf)
	s := &Subscription{C: ch, ch: ch, hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		s.once.Do(func() { close(ch) })
		return s
	}
	if h.subs == nil {
		h.subs = make(map[*Subscription]struct{})
	}
	h.subs[s] = struct{}{}
	return s
}

func (h *hub) remove(s *Subscription) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

func (h *hub) publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- e:
		default:
			s.dropped.Add(1)
		}
	}
}

// closeAll ends every subscription (after the room's last event).
func (h *hub) closeAll() {
	h.mu.Lock()
	subs := h.subs
	h.subs, h.done = nil, true
	h.mu.Unlock()
	for s := range subs {
		s.once.Do(func() { close(s.ch) })
	}
}
