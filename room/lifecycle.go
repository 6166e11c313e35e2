package room

import (
	"os"
	"time"
)

// Lifecycle is told when rooms start and end and when a recording's file
// is finished: what an operator's event handlers report. Its methods are
// called from room goroutines and recorders and must not block.
type Lifecycle interface {
	RoomCreated(id RoomID, description string)
	// RoomDestroyed: reason is empty for a destroy that was asked for
	// (ReasonFailed when a bug ended the room).
	RoomDestroyed(id RoomID, reason string)
	RecordingFinished(f RecordingFinished)
}

// RecordingFinished describes a recording whose file is complete.
type RecordingFinished struct {
	Room RoomID
	Path string
	// Started is when the recording began; Duration is the length of
	// what the file holds.
	Started  time.Time
	Duration time.Duration
	// Size of the file in bytes (from the file system once closed; what
	// was written if it cannot be read).
	Size  int64
	Video bool
	// Reason it ended: "stopped", "room destroyed", or "error: ..." when
	// writing failed.
	Reason string
}

// lifecycle is the manager's Lifecycle; nil for a room made alone.
func (r *Room) lifecycle() Lifecycle {
	if r.mgr == nil {
		return nil
	}
	return r.mgr.lifecycle
}

// tellDestroyed reports the room's end to the manager's Lifecycle.
func (r *Room) tellDestroyed(reason string) {
	if l := r.lifecycle(); l != nil {
		l.RoomDestroyed(r.id, reason)
	}
}

// finished reports the recorder's file, closed, to the manager's
// Lifecycle. It runs on the recorder's goroutine.
func (rec *recorder) finished(r *Room) {
	l := r.lifecycle()
	if l == nil {
		return
	}
	st := rec.w.Stats()
	f := RecordingFinished{Room: r.id, Path: rec.info.Path, Started: rec.start, Duration: st.Duration,
		Size: st.Bytes, Video: rec.info.Video, Reason: rec.reason}
	if fi, err := os.Stat(rec.info.Path); err == nil {
		f.Size = fi.Size()
	}
	l.RecordingFinished(f)
}
