package janus

import (
	"context"
	"encoding/json"
)

// What the room plugins answer through the admin API: room management
// requests (message_plugin) and a handle's description (handle_info).

var (
	_ AdminMessenger = (*RoomPlugin)(nil)
	_ handleInfoer   = (*roomSession)(nil)
)

// AdminMessage implements AdminMessenger: a room management request
// (create, edit, destroy, list, exists, listparticipants, kick, mute,
// enable_recording, ...) answered as a handle's would be, with the same
// checks (a room's secret is still needed where a handle needs it). A
// participant's own requests (join, configure, ...) have no handle to act
// on here: 482, as Janus's AudioBridge answers them.
func (p *RoomPlugin) AdminMessage(ctx context.Context, body json.RawMessage) any {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	b, req, err := parseBody(body)
	if err == nil {
		mr, ok := moderatorRequests[req]
		if !ok || !p.serves(mr.video) {
			return perr(abInvalidRequest, "Unknown request '%s'", req).data(p.key)
		}
		// A handle in no room: the request reaches its room by {room}.
		var data M
		if data, err = (&roomSession{plugin: p}).moderate(ctx, mr, b); err == nil {
			p.log.Info("admin: room request", "request", req)
			return data
		}
	}
	return pluginErrorOf(err).data(p.key)
}

// HandleInfo implements handleInfoer, in the shape of Janus's AudioBridge
// (state, room, id, display, muted, started, hangingup, destroyed), with
// Tessera's media counters under "media": the participant's audio input
// and output ("audio", room.InputStats) and camera ("video",
// room.VideoInputStats), as the room last published them (at most a
// second old).
func (s *roomSession) HandleInfo(ctx context.Context) M {
	s.mu.Lock()
	r, pid, started := s.room, s.pid, s.media
	s.mu.Unlock()
	info := M{"state": "idle", "started": started, "hangingup": false, "destroyed": false}
	if r == nil {
		return info
	}
	info["state"], info["room"], info["id"] = "inroom", r.ID(), pid
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if ps, err := r.Participants(ctx); err == nil {
		for _, p := range ps {
			if p.ID == pid {
				info["display"], info["muted"], info["talking"], info["setup"] = p.Display, p.Muted, p.Talking, p.Setup
			}
		}
	}
	media := M{}
	st := r.LastStats()
	for _, in := range st.Inputs {
		if in.Participant == pid {
			media["audio"] = in
		}
	}
	for _, in := range st.VideoInputs {
		if in.Participant == pid {
			media["video"] = in
		}
	}
	info["media"] = media
	return info
}
