package janus

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/tessera-mcu/tessera/room"
)

// Every moderator request takes the one path to its room: a request
// without a room is 483, one naming no room 485, and one with the wrong
// secret 489, whatever the request; a request about the handle's own room
// from a handle in none is 487; a video request to AudioBridge is 482.
func TestModeratorRequestsShareOnePath(t *testing.T) {
	s := newServer(t, Options{})
	if _, err := s.rooms.Create(room.Config{ID: 42, Secret: "s3"}); err != nil {
		t.Fatal(err)
	}
	ab := NewAudioBridge(s.rooms, s.webrtc, quietLog())
	mcu := NewVideoMCU(s.rooms, s.webrtc, quietLog(), ab)
	ask := func(p *RoomPlugin, body M) M {
		t.Helper()
		raw, _ := json.Marshal(body)
		sess := &roomSession{plugin: p, h: &fakeHandle{}}
		data, _ := sess.Handle(context.Background(), raw, nil)
		return data.(M)
	}
	for name, mr := range moderatorRequests {
		for _, p := range []*RoomPlugin{ab, mcu} {
			code := func(body M) int {
				body["request"] = name
				d := ask(p, body)
				n, _ := d["error_code"].(int)
				return n
			}
			if !p.serves(mr.video) {
				if got := code(M{"room": 42}); got != abInvalidRequest {
					t.Errorf("%s %s: error %d, want %d", p.pkg, name, got, abInvalidRequest)
				}
				continue
			}
			var want map[string]int
			switch mr.reach {
			case anyRoom:
				want = map[string]int{"no room": abMissingElement, "unknown room": abNoSuchRoom}
			case securedRoom:
				want = map[string]int{"no room": abMissingElement, "unknown room": abNoSuchRoom, "wrong secret": abUnauthorized}
			case ownRoom, ownRoomSecured:
				want = map[string]int{"no room": abNotJoined, "unknown room": abNoSuchRoom, "wrong secret": abUnauthorized}
			default:
				continue
			}
			for what, body := range map[string]M{
				"no room":      {},
				"unknown room": {"room": 777, "secret": "s3"},
				"wrong secret": {"room": 42, "secret": "nope"},
			} {
				w, ok := want[what]
				if !ok {
					continue
				}
				if got := code(body); got != w {
					t.Errorf("%s %s with %s: error %d, want %d", p.pkg, name, what, got, w)
				}
			}
		}
	}
}
