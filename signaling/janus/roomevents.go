package janus

import (
	"context"
	"strings"

	"github.com/tessera-mcu/tessera/room"
)

// startForwarding forwards a room's events to the handle on a goroutine
// of its own until sub is closed (the handle leaves or changes rooms, is
// kicked, or the room ends). Detach waits for it.
func (s *roomSession) startForwarding(r *room.Room, self room.ParticipantID, sub *room.Subscription) {
	s.forwarders.Add(1)
	go func() {
		defer s.forwarders.Done()
		s.forward(r, self, sub)
	}()
}

// forward turns room events into this handle's Janus events (AudioBridge's
// shapes, under the plugin's key).
func (s *roomSession) forward(r *room.Room, self room.ParticipantID, sub *room.Subscription) {
	key := s.plugin.key
	talking := r.Config().AudioLevelEvents
	var dropped uint64
	for e := range sub.C {
		if d := sub.Dropped(); d > dropped {
			// The client fell so far behind that events were lost: its
			// list of participants may be wrong, so it gets all of them.
			dropped = d
			s.resync(r, self, talking, d)
		}
		mine := e.Participant == self
		switch e.Kind {
		case room.EventJoined:
			if !mine {
				s.h.Event(M{key: "joined", "room": r.ID(), "participants": []M{participant(e.Info, talking)}}, nil)
			}
		case room.EventUpdated:
			// A participant hears of its own changes only when someone
			// else made them (a moderator's mute).
			if !mine || e.ByModerator {
				s.h.Event(M{key: "event", "room": r.ID(), "participants": []M{participant(e.Info, talking)}}, nil)
			}
		case room.EventLeft:
			switch {
			case e.Reason == "kicked":
				s.h.Event(M{key: "event", "room": r.ID(), "kicked": e.Participant}, nil)
				if mine {
					s.notifyRoomEvent("kicked", r.ID(), e.Participant)
					s.dropRoom(r)
				}
			case e.Reason == "destroyed":
			case !mine:
				s.h.Event(M{key: "event", "room": r.ID(), "leaving": e.Participant}, nil)
			}
		case room.EventTalking, room.EventStoppedTalking:
			if mine {
				s.notifyRoomEvent(e.Kind.String(), r.ID(), e.Participant)
			}
			s.h.Event(M{key: e.Kind.String(), "room": r.ID(), "id": e.Participant}, nil)
		case room.EventRoomMuted:
			s.h.Event(M{key: "event", "room": r.ID(), "muted": e.Muted}, nil)
		case room.EventStream:
			s.h.Event(streamEvent(key, r.ID(), e), nil)
		case room.EventCall:
			s.h.Event(callEvent(key, r.ID(), e), nil)
		case room.EventRecording:
			ev := M{key: "event", "room": r.ID(), "recording": e.Recording}
			if strings.HasPrefix(e.Reason, "error") {
				ev["error"] = e.Reason
			}
			s.h.Event(ev, nil)
		case room.EventLayout:
			if s.plugin.video {
				s.h.Event(M{key: "event", "room": r.ID(), "layout": e.Layout, "pinned": e.Participant}, nil)
			}
		case room.EventMediaUp:
			if mine {
				s.h.WebRTCUp()
			}
		case room.EventMedia:
			if mine {
				s.h.Media(s.mid(e.Media), e.Media, e.Receiving)
			}
		case room.EventSlowLink:
			if mine {
				s.h.SlowLink(s.mid(e.Media), e.Media, e.Uplink, e.Lost)
			}
		case room.EventTier:
			if mine && s.plugin.video {
				s.h.Event(M{key: "event", "room": r.ID(), "video": M{"tier": e.Tier, "width": e.Width, "height": e.Height}}, nil)
			}
		case room.EventHangup:
			if mine && s.endMedia() {
				s.h.HangupEvent(e.Reason)
			}
		case room.EventDestroyed:
			ev := M{key: "destroyed", "room": r.ID()}
			if e.Reason != "" {
				ev["error"] = e.Reason // ended by the server, not destroyed on request
			}
			s.h.Event(ev, nil)
			s.dropRoom(r)
		}
	}
}

// resync sends the room's whole participant list (others than self, as
// in joined) after lost events: who joined or changed meanwhile is there.
// Janus clients only add and update from such a list; one who left while
// events were lost stays on the client's list until its next leave event
// or a listparticipants request.
func (s *roomSession) resync(r *room.Room, self room.ParticipantID, talking bool, lost uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	ps, err := r.Participants(ctx)
	if err != nil {
		return
	}
	s.plugin.lostLog.Warn(s.plugin.log, "room events lost for a slow client; sending the whole participant list",
		"session", s.h.SessionID(), "handle", s.h.ID(), "lost", lost)
	s.h.Event(M{s.plugin.key: "event", "room": r.ID(), "participants": participantList(ps, self, talking)}, nil)
}

// participant renders a participant the way AudioBridge does.
func participant(p room.ParticipantInfo, talkingEvents bool) M {
	m := M{"id": p.ID, "setup": p.Setup, "muted": p.Muted}
	if p.Display != "" {
		m["display"] = p.Display
	}
	if talkingEvents {
		m["talking"] = p.Talking
	}
	return m
}

// participantList is the Janus list of ps, without skip (0: everyone).
func participantList(ps []room.ParticipantInfo, skip room.ParticipantID, talking bool) []M {
	list := make([]M, 0, len(ps))
	for _, p := range ps {
		if p.ID != skip || skip == 0 {
			list = append(list, participant(p, talking))
		}
	}
	return list
}
