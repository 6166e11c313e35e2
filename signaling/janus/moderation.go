package janus

import (
	"context"
	"errors"
	"path/filepath"
	"strings"

	"github.com/tessera-mcu/tessera/room"
)

// roomReach is how a moderator request finds its room, and what it asks
// of the client before it runs.
type roomReach int

const (
	// noRoom: the request is about no one room (create, list), or looks
	// the room up itself (exists).
	noRoom roomReach = iota
	// anyRoom: {room} must exist (485 otherwise).
	anyRoom
	// securedRoom: {room} must exist, and {secret} match the room's when
	// it has one (489 otherwise).
	securedRoom
	// ownRoom: the handle's own room by default; another {room} needs its
	// {secret}.
	ownRoom
	// ownRoomSecured: as ownRoom, and the secret is needed even from
	// inside the room.
	ownRoomSecured
)

// roomCall is a moderator request on its way to its handler: the body,
// and the room it reached (nil for noRoom).
type roomCall struct {
	b  fields
	r  *room.Room
	id room.RoomID
}

// moderatorRequest is a request about a room and its participants.
type moderatorRequest struct {
	reach roomReach
	// video: only a flavour with video serves it.
	video bool
	run   func(s *roomSession, ctx context.Context, q roomCall) (M, error)
}

// moderatorRequests are the room management requests, all synchronous.
var moderatorRequests = map[string]moderatorRequest{
	"create": {reach: noRoom, run: func(s *roomSession, ctx context.Context, q roomCall) (M, error) { return s.plugin.create(ctx, q.b) }},
	"list":   {reach: noRoom, run: func(s *roomSession, _ context.Context, _ roomCall) (M, error) { return s.plugin.list(), nil }},
	"exists": {reach: noRoom, run: onPlugin((*RoomPlugin).exists)},

	"listparticipants": {reach: anyRoom, run: onPlugin((*RoomPlugin).listParticipants)},
	"tiles":            {reach: anyRoom, video: true, run: onPlugin((*RoomPlugin).tiles)},

	"edit":             {reach: securedRoom, run: onPlugin((*RoomPlugin).edit)},
	"destroy":          {reach: securedRoom, run: onPlugin((*RoomPlugin).destroy)},
	"kick":             {reach: securedRoom, run: onPlugin((*RoomPlugin).kick)},
	"kick_all":         {reach: securedRoom, run: onPlugin((*RoomPlugin).kickAll)},
	"mute":             {reach: securedRoom, run: onPlugin(muteParticipant(true))},
	"unmute":           {reach: securedRoom, run: onPlugin(muteParticipant(false))},
	"mute_room":        {reach: securedRoom, run: onPlugin(muteRoom(true))},
	"unmute_room":      {reach: securedRoom, run: onPlugin(muteRoom(false))},
	"enable_recording": {reach: securedRoom, run: onPlugin((*RoomPlugin).enableRecording)},

	"layout":      {reach: ownRoom, video: true, run: (*roomSession).layout},
	"record":      {reach: ownRoomSecured, video: true, run: (*roomSession).record},
	"stream":      {reach: ownRoomSecured, run: (*roomSession).stream},
	"dial":        {reach: ownRoomSecured, run: (*roomSession).dial},
	"dtmf":        {reach: ownRoomSecured, run: (*roomSession).dtmf},
	"hangup_call": {reach: ownRoomSecured, run: (*roomSession).hangupCall},
}

// onPlugin adapts a handler that answers the same whichever handle asks.
func onPlugin(f func(*RoomPlugin, context.Context, roomCall) (M, error)) func(*roomSession, context.Context, roomCall) (M, error) {
	return func(s *roomSession, ctx context.Context, q roomCall) (M, error) { return f(s.plugin, ctx, q) }
}

// moderate is the one path of every moderator request: find the room as
// the request's reach says, check the secret it needs, run the handler.
// Its errors are answered by Handle (pluginErrorOf).
func (s *roomSession) moderate(ctx context.Context, mr moderatorRequest, b fields) (M, error) {
	q := roomCall{b: b}
	var err error
	switch mr.reach {
	case anyRoom:
		q.r, q.id, err = s.plugin.room(b)
	case securedRoom:
		if q.r, q.id, err = s.plugin.room(b); err == nil {
			err = s.plugin.authorized(ctx, q.r, b)
		}
	case ownRoom, ownRoomSecured:
		if q.r, err = s.roomFor(ctx, b); err != nil {
			break
		}
		q.id = q.r.ID()
		if mr.reach == ownRoomSecured {
			// A meeting's recording, say, is the room owner's call: the
			// secret is needed even from inside the room (when it has one).
			err = s.plugin.authorized(ctx, q.r, b)
		}
	}
	if err != nil {
		return nil, err
	}
	return mr.run(s, ctx, q)
}

// roomFor resolves the room a control request is about: the handle's own
// room, or {room, secret} for anyone else.
func (s *roomSession) roomFor(ctx context.Context, b fields) (*room.Room, error) {
	r, notJoined := s.joined()
	if b.has("room") {
		other, id, err := s.plugin.room(b)
		if err != nil {
			return nil, err
		}
		if r == nil || r.ID() != id {
			if err := s.plugin.authorized(ctx, other, b); err != nil {
				return nil, err
			}
		}
		return other, nil
	}
	if notJoined != nil {
		return nil, perr(abNotJoined, "Not in a room (give room and secret)")
	}
	return r, nil
}

func (p *RoomPlugin) create(ctx context.Context, b fields) (M, error) {
	if err := p.checkAdminKey(ctx, b); err != nil {
		return nil, err
	}
	id, err := b.uint("room", false)
	if err != nil {
		return nil, err
	}
	f := fieldReader{f: b}
	desc, secret, pin := f.str("description"), f.str("secret"), f.str("pin")
	private, levels, hls := f.boolean("is_private"), f.boolean("audiolevel_event"), f.boolean("hls")
	if f.err != nil {
		return nil, f.err
	}
	cfg := room.Config{ID: room.RoomID(id), Description: desc, Secret: secret, Pin: pin}
	if levels != nil {
		cfg.AudioLevelEvents = *levels
	}
	if hls != nil {
		cfg.HLS = *hls
	}
	if b.has("max_talkers") {
		k, err := b.uint("max_talkers", false)
		if err != nil {
			return nil, err
		}
		cfg.Audio = room.AudioConfig{MaxTalkers: int(k)}
	}
	r, err := p.rooms.Create(cfg)
	if err != nil {
		if errors.Is(err, room.ErrRoomExists) {
			return nil, perr(abRoomExists, "Room %d already exists", id)
		}
		if errors.Is(err, room.ErrTooManyRooms) {
			return nil, perr(abUnauthorized, "Unauthorized (the server's room limit is reached: %v)", err)
		}
		return nil, perr(abInvalidElement, "%v", err)
	}
	if private != nil {
		p.private.put(r.ID(), *private)
	}
	p.log.Info("room created", "room", r.ID())
	return M{p.key: "created", "room": r.ID(), "permanent": false}, nil
}

// list answers AudioBridge's list from the rooms' summaries: one snapshot,
// with no request to any room, so it is complete and quick however many
// rooms there are.
func (p *RoomPlugin) list() M {
	out := []M{}
	for _, r := range p.rooms.Summaries() {
		if p.private.get(r.ID) {
			continue
		}
		out = append(out, M{"room": r.ID, "description": r.Description, "pin_required": r.PinRequired,
			"sampling_rate": room.SampleRate, "spatial_audio": false, "record": r.Recording, "muted": r.Muted,
			"num_participants": r.Participants, "streams": r.Streams})
	}
	return M{p.key: "success", "list": out}
}

func (p *RoomPlugin) exists(_ context.Context, q roomCall) (M, error) {
	id, err := q.b.uint("room", true)
	if err != nil {
		return nil, err
	}
	_, err = p.rooms.Get(room.RoomID(id))
	return M{p.key: "success", "room": id, "exists": err == nil}, nil
}

func (p *RoomPlugin) listParticipants(ctx context.Context, q roomCall) (M, error) {
	r, id := q.r, q.id
	ps, err := r.Participants(ctx)
	if err != nil {
		return nil, err
	}
	return M{p.key: "participants", "room": id, "participants": participantList(ps, 0, r.Config().AudioLevelEvents)}, nil
}

// tiles tells where each participant is on the composite: {room}.
func (p *RoomPlugin) tiles(ctx context.Context, q roomCall) (M, error) {
	r, id := q.r, q.id
	ts, err := r.Tiles(ctx)
	if err != nil {
		return nil, perr(abInvalidRequest, "Room %d has no video", id)
	}
	v := r.Config().Video
	return M{p.key: "tiles", "room": id, "width": v.Width, "height": v.Height, "tiles": ts}, nil
}

func (p *RoomPlugin) edit(_ context.Context, q roomCall) (M, error) {
	r, id, b := q.r, q.id, q.b
	var fields [3]*string
	for i, k := range []string{"new_description", "new_secret", "new_pin"} {
		if b.has(k) {
			v, err := b.str(k, false)
			if err != nil {
				return nil, err
			}
			fields[i] = &v
		}
	}
	r.Edit(fields[0], fields[1], fields[2])
	if private, err := b.boolean("new_is_private"); err != nil {
		return nil, err
	} else if private != nil {
		p.private.put(id, *private)
	}
	return M{p.key: "edited", "room": id, "permanent": false}, nil
}

func (p *RoomPlugin) destroy(ctx context.Context, q roomCall) (M, error) {
	id := q.id
	if err := p.rooms.Destroy(ctx, id); err != nil {
		return nil, err
	}
	p.private.put(id, false)
	return M{p.key: "destroyed", "room": id, "permanent": false}, nil
}

func (p *RoomPlugin) kick(ctx context.Context, q roomCall) (M, error) {
	r, id := q.r, q.id
	pid, err := q.b.uint("id", true)
	if err != nil {
		return nil, err
	}
	if err := r.Kick(ctx, room.ParticipantID(pid)); err != nil {
		return nil, err
	}
	return M{p.key: "success", "room": id}, nil
}

func (p *RoomPlugin) kickAll(ctx context.Context, q roomCall) (M, error) {
	r, id := q.r, q.id
	ps, err := r.Participants(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		_ = r.Kick(ctx, p.ID)
	}
	return M{p.key: "success", "room": id}, nil
}

// muteParticipant is mute (muted) or unmute: {room, id, secret?}.
func muteParticipant(muted bool) func(*RoomPlugin, context.Context, roomCall) (M, error) {
	return func(p *RoomPlugin, ctx context.Context, q roomCall) (M, error) {
		r, id := q.r, q.id
		pid, err := q.b.uint("id", true)
		if err != nil {
			return nil, err
		}
		if _, err := r.Update(ctx, room.ParticipantID(pid), room.Update{Muted: &muted, ByModerator: true}); err != nil {
			return nil, err
		}
		return M{p.key: "success", "room": id}, nil
	}
}

// muteRoom is mute_room (muted) or unmute_room: {room, secret?}.
func muteRoom(muted bool) func(*RoomPlugin, context.Context, roomCall) (M, error) {
	return func(p *RoomPlugin, ctx context.Context, q roomCall) (M, error) {
		r, id := q.r, q.id
		if err := r.SetRoomMuted(ctx, muted); err != nil {
			return nil, err
		}
		return M{p.key: "success", "room": id}, nil
	}
}

// enableRecording is AudioBridge's enable_recording: {room, record,
// filename?, secret?} (it needs the room's secret when the room has one).
func (p *RoomPlugin) enableRecording(ctx context.Context, q roomCall) (M, error) {
	r, id, b := q.r, q.id, q.b
	on, err := b.boolean("record")
	if err != nil {
		return nil, err
	}
	if on == nil {
		return nil, perr(abMissingElement, "Missing element (record)")
	}
	if *on {
		o := p.recording
		if name, err := b.str("filename", false); err != nil {
			return nil, err
		} else if name != "" {
			o.Name = strings.TrimSuffix(name, filepath.Ext(name))
		}
		if _, err := r.StartRecording(ctx, o); err != nil && !errors.Is(err, room.ErrAlreadyRecording) {
			return nil, recordErr(err)
		}
	} else if _, err := r.StopRecording(ctx); err != nil && !errors.Is(err, room.ErrNotRecording) {
		return nil, recordErr(err)
	}
	return M{p.key: "success", "room": id, "record": *on}, nil
}

// layout changes the room's layout: {room?, layout, pin?, secret?}. A
// participant may change its own room's layout; anyone else needs the
// room's secret.
func (s *roomSession) layout(ctx context.Context, q roomCall) (M, error) {
	r, b := q.r, q.b
	name, err := b.str("layout", true)
	if err != nil {
		return nil, err
	}
	kind, err := room.ParseLayout(name)
	if err != nil {
		return nil, perr(abInvalidElement, "Invalid element (layout should be grid, speaker or presentation)")
	}
	pin, err := b.uint("pin", false)
	if err != nil {
		return nil, err
	}
	if kind == room.LayoutPresentation && pin == 0 {
		return nil, perr(abMissingElement, "Missing element (pin): presentation needs the participant to show")
	}
	if err := r.SetLayout(ctx, kind, room.ParticipantID(pin)); err != nil {
		if errors.Is(err, room.ErrNoVideo) {
			return nil, perr(abInvalidRequest, "Room %d has no video", r.ID())
		}
		return nil, err
	}
	return M{s.plugin.key: "success", "room": r.ID(), "layout": kind.String(), "pinned": pin}, nil
}

// record starts or stops the room's recording: {action: "start"|"stop",
// room?, secret?, video_codec?, filename?}.
func (s *roomSession) record(ctx context.Context, q roomCall) (M, error) {
	r, b := q.r, q.b
	action, err := b.str("action", true)
	if err != nil {
		return nil, err
	}
	switch action {
	case "start":
		o := s.plugin.recording
		if v, err := b.str("video_codec", false); err != nil {
			return nil, err
		} else if v != "" {
			o.VideoCodec = strings.ToLower(v)
		}
		if name, err := b.str("filename", false); err != nil {
			return nil, err
		} else if name != "" {
			o.Name = name
		}
		info, err := r.StartRecording(ctx, o)
		if err != nil {
			return nil, recordErr(err)
		}
		return M{s.plugin.key: "success", "room": r.ID(), "recording": true, "file": filepath.Base(info.Path)}, nil
	case "stop":
		info, err := r.StopRecording(ctx)
		if err != nil {
			return nil, recordErr(err)
		}
		return M{s.plugin.key: "success", "room": r.ID(), "recording": false, "file": filepath.Base(info.Path)}, nil
	}
	return nil, perr(abInvalidElement, "Invalid element (action should be start or stop)")
}
