package rtmp

import (
	"fmt"
	"time"
)

// State is where a Pusher stands.
type State int

// The states of a Pusher, in the order a push normally goes through them.
const (
	// StateConnecting: a connection attempt is under way, or the Pusher
	// is connected and waits for the keyframe to start on.
	StateConnecting State = iota + 1
	// StateStreaming: media reaches the ingest.
	StateStreaming
	// StateReconnecting: the last attempt or connection failed
	// (StateChange.Err says why); the next attempt follows after
	// StateChange.Retry.
	StateReconnecting
	// StateStopped: Close was called; the Pusher sends nothing more.
	StateStopped
)

func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateStreaming:
		return "streaming"
	case StateReconnecting:
		return "reconnecting"
	case StateStopped:
		return "stopped"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// StateChange reports a new state.
type StateChange struct {
	State State
	// Attempt counts connection attempts, from 1; it is the attempt the
	// state belongs to.
	Attempt int
	// Err is why the connection or attempt ended (StateReconnecting only).
	Err error
	// Retry is the wait before the next attempt (StateReconnecting only).
	Retry time.Duration
	// At is when the change happened.
	At time.Time
}

// Stats are a Pusher's counters since it was made.
type Stats struct {
	State State
	// VideoFrames and AudioFrames count the H.264 access units and AAC
	// frames sent; Bytes counts everything written to the ingest, over
	// all connections.
	VideoFrames, AudioFrames, Bytes uint64
	// Dropped counts frames Write* could not queue because the queue was
	// full, and the video frames discarded after such a drop until the
	// next keyframe.
	Dropped uint64
	// Skipped counts frames discarded while no connection was up or the
	// Pusher waited for a keyframe to start on.
	Skipped uint64
	// Reconnects counts failed connections and attempts.
	Reconnects uint64
	// LastError is the error of the last failed connection or attempt,
	// or of the last frame that could not be encoded; nil if none.
	LastError error
}
