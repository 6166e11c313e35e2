package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/stream/rtmp"
)

// Pushes starts RTMP and RTMPS pushes of rooms' meetings: each is a room
// stream whose sink is an rtmp.Pusher, which reconnects on its own; its
// state changes become the room's stream events.
type Pushes struct {
	// AudioBitrate of the AAC track (0: the pusher's default, 128 kbit/s).
	AudioBitrate int
	// Tier of the composite pushed (0: the room's best).
	Tier   int
	Logger *slog.Logger
}

// Push starts a push of r to url (rtmp:// or rtmps://, the stream key in
// its last path segment). It returns once the stream runs; the connection
// comes up in the background. A URL it cannot push to is an error
// wrapping room.ErrInvalidValue.
func (p Pushes) Push(ctx context.Context, r *room.Room, url string) (room.StreamInfo, error) {
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	n := &notifier{r: r}
	pusher, err := rtmp.New(url, rtmp.Options{
		AudioBitrate:    p.AudioBitrate,
		RequestKeyframe: n.keyframe,
		OnState:         n.state,
		Logger:          log.With("room", r.ID()),
	})
	if err != nil {
		if errors.Is(err, rtmp.ErrBadURL) {
			return room.StreamInfo{}, fmt.Errorf("%w: %w", room.ErrInvalidValue, err)
		}
		return room.StreamInfo{}, err
	}
	info, err := r.StartStream(ctx, room.StreamOptions{Name: pusher.Target(), Tier: p.Tier}, pusher)
	if err != nil {
		_ = pusher.Close()
		return room.StreamInfo{}, err
	}
	n.started(info.ID)
	return info, nil
}

// notifier carries a pusher's news to its room once the room has named
// the stream; what comes before is held (the last state only).
type notifier struct {
	r *room.Room

	mu      sync.Mutex
	id      room.StreamID
	pending *rtmp.StateChange
	wantKey bool
}

func (n *notifier) started(id room.StreamID) {
	n.mu.Lock()
	n.id = id
	pending, wantKey := n.pending, n.wantKey
	n.pending, n.wantKey = nil, false
	n.mu.Unlock()
	if pending != nil {
		n.tell(id, *pending)
	}
	if wantKey {
		n.r.StreamKeyframe(id)
	}
}

func (n *notifier) keyframe() {
	n.mu.Lock()
	id := n.id
	if id == 0 {
		n.wantKey = true
	}
	n.mu.Unlock()
	if id != 0 {
		n.r.StreamKeyframe(id)
	}
}

func (n *notifier) state(c rtmp.StateChange) {
	n.mu.Lock()
	id := n.id
	if id == 0 {
		n.pending = &c
	}
	n.mu.Unlock()
	if id != 0 {
		n.tell(id, c)
	}
}

// tell turns a state change into a room event: streaming, or an error
// and the retry ("reconnecting"). Connecting and stopped say nothing the
// room's own events do not.
func (n *notifier) tell(id room.StreamID, c rtmp.StateChange) {
	switch c.State {
	case rtmp.StateStreaming:
		n.r.NotifyStream(id, room.StreamStreaming, "")
	case rtmp.StateReconnecting:
		reason := "connection lost"
		if c.Err != nil {
			reason = c.Err.Error()
		}
		n.r.NotifyStream(id, "reconnecting", fmt.Sprintf("%s; retrying in %v", reason, c.Retry.Round(time.Millisecond)))
	}
}
