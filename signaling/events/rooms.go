package events

import (
	"math"

	"github.com/tessera-mcu/tessera/room"
)

// Rooms reports the room manager's lifecycle (room.Lifecycle) as plugin
// events of RoomPlugin:
//
//	{"plugin": "tessera.room", "data": {"event": "created", "room": 1234, "description": "..."}}
//	{"plugin": "tessera.room", "data": {"event": "destroyed", "room": 1234}}
//	{"plugin": "tessera.room", "data": {"event": "recording-finished", "room": 1234,
//	  "path": "...", "started": <µs>, "duration": 12.34, "size": 123456, "video": true, "reason": "stopped"}}
type Rooms struct {
	Sink interface{ Emit(Event) }
}

var _ room.Lifecycle = Rooms{}

func (r Rooms) emit(data map[string]any) {
	if r.Sink != nil {
		r.Sink.Emit(Event{Type: TypePlugin, Event: map[string]any{"plugin": RoomPlugin, "data": data}})
	}
}

// RoomCreated implements room.Lifecycle.
func (r Rooms) RoomCreated(id room.RoomID, description string) {
	r.emit(map[string]any{"event": "created", "room": id, "description": description})
}

// RoomDestroyed implements room.Lifecycle.
func (r Rooms) RoomDestroyed(id room.RoomID, reason string) {
	data := map[string]any{"event": "destroyed", "room": id}
	if reason != "" {
		data["reason"] = reason
	}
	r.emit(data)
}

// RecordingFinished implements room.Lifecycle: duration in seconds (to
// the millisecond), size in bytes, started in microseconds since the
// Unix epoch.
func (r Rooms) RecordingFinished(f room.RecordingFinished) {
	r.emit(map[string]any{"event": "recording-finished", "room": f.Room, "path": f.Path,
		"started": f.Started.UnixMicro(), "duration": math.Round(f.Duration.Seconds()*1000) / 1000,
		"size": f.Size, "video": f.Video, "reason": f.Reason})
}
