package janus

import (
	"context"
	"errors"
	"strings"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/rtc"
)

// participantRequest is a request a handle makes about its own
// participant.
type participantRequest struct {
	// async: acknowledged at once and answered with an event, as Janus's
	// AudioBridge does for join, configure, changeroom, leave and hangup.
	async bool
	// video: only a flavour with video serves it.
	video bool
	run   func(s *roomSession, ctx context.Context, b fields, jsep *JSEP) (M, *JSEP, error)
}

// participantRequests are the requests about the handle's own
// participant.
var participantRequests = map[string]participantRequest{
	"join": {async: true, run: func(s *roomSession, ctx context.Context, b fields, jsep *JSEP) (M, *JSEP, error) {
		return s.join(ctx, b, jsep, false)
	}},
	"changeroom": {async: true, run: func(s *roomSession, ctx context.Context, b fields, jsep *JSEP) (M, *JSEP, error) {
		return s.join(ctx, b, jsep, true)
	}},
	"configure": {async: true, run: (*roomSession).configure},
	"leave": {async: true, run: func(s *roomSession, ctx context.Context, _ fields, _ *JSEP) (M, *JSEP, error) {
		data, err := s.leave(ctx)
		return data, nil, err
	}},
	"hangup": {async: true, run: func(s *roomSession, ctx context.Context, _ fields, _ *JSEP) (M, *JSEP, error) {
		s.Hangup(ctx)
		return M{s.plugin.key: "hangingup"}, nil, nil
	}},
	"resetdecoder": {run: func(s *roomSession, _ context.Context, _ fields, _ *JSEP) (M, *JSEP, error) {
		// Decoders reset themselves on stream restarts; nothing to do.
		if _, err := s.joined(); err != nil {
			return nil, nil, err
		}
		return M{s.plugin.key: "success"}, nil, nil
	}},
}

// join handles join and changeroom. A changeroom takes the participant's
// media session along (the PeerConnection stays up); a refused one leaves
// it where it was. An offer sent with either is answered as configure
// would.
func (s *roomSession) join(ctx context.Context, b fields, jsep *JSEP, change bool) (M, *JSEP, error) {
	r, id, err := s.plugin.room(b)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	old, oldPid, oldSub := s.room, s.pid, s.sub
	s.mu.Unlock()
	if old != nil && !change {
		return nil, nil, perr(abAlreadyJoined, "Already in a room (use changeroom)")
	}
	if old == nil && change {
		return nil, nil, perr(abNotJoined, "Not in a room (use join)")
	}
	if change && old == r {
		return nil, nil, perr(abAlreadyJoined, "Already in room %d", id)
	}
	f := fieldReader{f: b}
	pid, display, pin, muted, vol, tier := f.uint("id"), f.str("display"), f.str("pin"), f.boolean("muted"), f.uint("volume"), f.uint("tier")
	if f.err != nil {
		return nil, nil, f.err
	}
	if err := s.plugin.guarded(ctx, "pin", r.Config().Pin != "", func() bool { return r.CheckPin(pin) }); err != nil {
		return nil, nil, err
	}
	req := room.JoinRequest{ID: room.ParticipantID(pid), Display: display, Pin: pin}
	if b.has("volume") {
		v := float32(vol) / 100
		req.Volume = &v
	}
	if s.plugin.video {
		vc, err := b.str("video_codec", false)
		if err != nil {
			return nil, nil, err
		}
		if vc = strings.ToLower(vc); vc != "" && vc != room.CodecVP8 && vc != room.CodecH264 {
			return nil, nil, perr(abInvalidElement, "Invalid element (video_codec should be vp8 or h264)")
		}
		req.VideoCodec, req.VideoTier = vc, int(tier)
	}
	if muted != nil {
		req.Muted = *muted
	}
	if jsep != nil {
		// A bad offer fails the request before anything moves.
		if _, err := rtc.CheckOffer(jsep.SDP, r.HasVideo()); err != nil {
			return nil, nil, err
		}
	}
	sub := r.Subscribe(abSubscriptionLen)
	var j room.Joined
	if change {
		j, err = old.Move(ctx, oldPid, r, req)
	} else {
		j, err = r.Enter(ctx, req)
	}
	me := j.Me
	if err != nil {
		sub.Close()
		return nil, nil, err
	}
	s.mu.Lock()
	s.room, s.pid, s.sub = r, me.ID, sub
	s.mu.Unlock()
	if oldSub != nil {
		oldSub.Close() // ends the old room's forwarder
	}
	s.startForwarding(r, me.ID, sub)
	var (
		answer   *JSEP
		offerErr error
	)
	if jsep != nil {
		if answer, offerErr = s.offer(ctx, r, me.ID, jsep); offerErr != nil && !change {
			_, _ = s.leave(context.WithoutCancel(ctx)) // a join whose offer fails does not happen
			return nil, nil, offerErr
		}
	}
	var from room.RoomID
	if change {
		from = old.ID()
	}
	s.notifyJoined(id, me, from)
	list := participantList(j.Others, 0, r.Config().AudioLevelEvents)
	kind := "joined"
	if change {
		kind = "roomchanged"
	}
	reply := M{s.plugin.key: kind, "room": id, "id": me.ID, "participants": list, "recording": j.Recording}
	if offerErr != nil {
		// The move happened (the offer passed the check, then failed to
		// apply): the client is in the new room, and is told why its offer
		// was not answered.
		e := pluginErrorOf(offerErr)
		reply["error_code"], reply["error"] = e.code, e.msg
	}
	if s.plugin.video {
		if v := r.Config().Video; !v.Disabled {
			reply["video"] = M{"width": v.Width, "height": v.Height, "fps": v.FPS, "layout": j.Layout.String(), "pinned": j.Pinned,
				"tiers": len(v.Tiers)}
		}
	}
	return reply, answer, nil
}

// offer applies a client's offer to its participant and returns the
// answer.
func (s *roomSession) offer(ctx context.Context, r *room.Room, pid room.ParticipantID, jsep *JSEP) (*JSEP, error) {
	answer, err := s.plugin.webrtc.Offer(ctx, r.Member(pid), jsep.SDP)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.mids = answer.Mids
	s.media = true
	s.mu.Unlock()
	return &JSEP{Type: "answer", SDP: answer.SDP}, nil
}

func (s *roomSession) configure(ctx context.Context, b fields, jsep *JSEP) (M, *JSEP, error) {
	r, err := s.joined()
	if err != nil {
		return nil, nil, perr(abNotJoined, "Can't configure (not in a room)")
	}
	s.mu.Lock()
	pid := s.pid
	s.mu.Unlock()
	var u room.Update
	if u.Muted, err = b.boolean("muted"); err != nil {
		return nil, nil, err
	}
	if b.has("display") {
		d, err := b.str("display", false)
		if err != nil {
			return nil, nil, err
		}
		u.Display = &d
	}
	if b.has("volume") {
		v, err := b.uint("volume", false)
		if err != nil {
			return nil, nil, err
		}
		f := float32(v) / 100
		u.Volume = &f
	}
	if s.plugin.video && b.has("tier") {
		t, err := b.uint("tier", false)
		if err != nil {
			return nil, nil, err
		}
		ti := int(t)
		u.VideoTier = &ti
	}
	if u.Muted != nil || u.Display != nil || u.Volume != nil || u.VideoTier != nil {
		if _, err := r.Update(ctx, pid, u); err != nil {
			return nil, nil, err
		}
		s.notifyConfigured(r.ID(), pid, u)
	}
	var answer *JSEP
	if jsep != nil {
		if answer, err = s.offer(ctx, r, pid, jsep); err != nil {
			return nil, nil, err
		}
	}
	return M{s.plugin.key: "event", "result": "ok"}, answer, nil
}

func (s *roomSession) leave(ctx context.Context) (M, error) {
	s.mu.Lock()
	r, pid, sub := s.room, s.pid, s.sub
	s.room, s.pid, s.sub, s.media = nil, 0, nil, false
	s.mu.Unlock()
	if r == nil {
		return nil, perr(abNotJoined, "Can't leave (not in a room)")
	}
	if sub != nil {
		sub.Close()
	}
	if err := r.Leave(ctx, pid); err != nil && !errors.Is(err, room.ErrParticipantNotFound) && !errors.Is(err, room.ErrClosed) {
		return nil, err
	}
	s.notifyRoomEvent("left", r.ID(), pid)
	return M{s.plugin.key: "left", "room": r.ID(), "id": pid}, nil
}
