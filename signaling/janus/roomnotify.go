package janus

import "github.com/tessera-mcu/tessera/room"

// The plugin events a room plugin reports to the operator's event
// handlers (Handle.Notify), each once, from the handle of the
// participant it is about, in the shapes of Janus's AudioBridge:
// {"event": "joined"|"configured"|"left"|"kicked"|"talking"|
// "stopped-talking", "room": ..., "id": ...}.

// notifyJoined reports a join, or a changeroom as leaving one room and
// joining the other.
func (s *roomSession) notifyJoined(r room.RoomID, me room.ParticipantInfo, from room.RoomID) {
	if from != 0 {
		s.h.Notify(M{"event": "left", "room": from, "id": me.ID})
	}
	ev := M{"event": "joined", "room": r, "id": me.ID, "muted": me.Muted, "setup": me.Setup}
	if me.Display != "" {
		ev["display"] = me.Display
	}
	s.h.Notify(ev)
}

// notifyConfigured reports what a configure changed.
func (s *roomSession) notifyConfigured(r room.RoomID, pid room.ParticipantID, u room.Update) {
	ev := M{"event": "configured", "room": r, "id": pid}
	if u.Muted != nil {
		ev["muted"] = *u.Muted
	}
	if u.Display != nil {
		ev["display"] = *u.Display
	}
	if u.Volume != nil {
		ev["volume"] = int(*u.Volume*100 + 0.5)
	}
	if u.VideoTier != nil {
		ev["tier"] = *u.VideoTier
	}
	s.h.Notify(ev)
}

// notifyRoomEvent reports the handle's own participant's event kind
// ("left", "kicked", "talking", "stopped-talking").
func (s *roomSession) notifyRoomEvent(kind string, r room.RoomID, pid room.ParticipantID) {
	s.h.Notify(M{"event": kind, "room": r, "id": pid})
}
