package room

import (
	"context"
	"fmt"
	"time"

	"github.com/tessera-mcu/tessera/mixer"
)

// JoinRequest asks for a place in the room.
type JoinRequest struct {
	// ID of the participant; 0 picks a random one.
	ID      ParticipantID
	Display string
	Pin     string
	Muted   bool
	// Volume is the gain applied to the participant's voice (nil: unity;
	// 0 silences it; up to 4).
	Volume *float32
	// VideoCodec is the preferred video codec ("vp8" or "h264"; empty:
	// H.264 when offered, else VP8).
	VideoCodec string
	// VideoTier is the best tier of the composite the participant wants
	// (0, the default: the top one). A viewer never goes above it, whatever
	// its bandwidth.
	VideoTier int
	// Viewer makes a hidden participant that only watches and listens (a
	// wall display, a WHEP player): it gets the composite and the full
	// mix, but is in no participant list, causes no joined, left or other
	// event about itself, takes no tile and sends nothing into the room.
	// It counts against the server's cap, not the room's.
	Viewer bool
}

// Joined is what a participant learns as it joins, in one snapshot taken
// on the room goroutine: itself, everyone already there, and the room's
// state.
type Joined struct {
	Me     ParticipantInfo
	Others []ParticipantInfo
	// Recording: the room is being recorded.
	Recording bool
	// Layout and Pinned describe the composite (a room with video).
	Layout Layout
	Pinned ParticipantID
}

// Join adds a participant (without media: a connection is attached
// later). It returns the newcomer and everyone already there.
func (r *Room) Join(ctx context.Context, req JoinRequest) (ParticipantInfo, []ParticipantInfo, error) {
	j, err := r.Enter(ctx, req)
	return j.Me, j.Others, err
}

// Enter is Join, returning the whole snapshot of the room a newcomer needs
// (one trip to the room goroutine).
func (r *Room) Enter(ctx context.Context, req JoinRequest) (Joined, error) {
	return r.enter(ctx, req, false)
}

// enter is Enter; moving: the participant already holds a seat on the
// server (in the room it leaves), so the server's cap does not apply.
func (r *Room) enter(ctx context.Context, req JoinRequest, moving bool) (Joined, error) {
	if !r.CheckPin(req.Pin) {
		return Joined{}, ErrUnauthorized
	}
	if uint64(req.ID) > maxID {
		return Joined{}, fmt.Errorf("%w: participant ID %d exceeds 2^53-1", ErrInvalidValue, req.ID)
	}
	vol := float32(1)
	if req.Volume != nil {
		vol = *req.Volume
	}
	if vol < 0 || vol > 4 {
		return Joined{}, fmt.Errorf("%w: volume %.2f (0..4)", ErrInvalidValue, vol)
	}
	if err := r.checkTier(req.VideoTier); err != nil {
		return Joined{}, err
	}
	if !r.takeSeat(moving) {
		return Joined{}, fmt.Errorf("%w: at most %d participants", ErrServerFull, r.mgr.limits.MaxParticipants)
	}
	var (
		j      Joined
		err    error
		seated bool // the seat is the new participant's
	)
	defer func() {
		if !seated {
			r.releaseSeats(1)
		}
	}()
	xerr := r.exec(ctx, func() {
		if r.cfg.MaxParticipants > 0 && !req.Viewer && r.listedCount() >= r.cfg.MaxParticipants {
			err = ErrRoomFull
			return
		}
		id := req.ID
		if id == 0 {
			for id == 0 || r.parts[id] != nil {
				id = ParticipantID(randomID())
			}
		} else if r.parts[id] != nil {
			err = ErrParticipantExists
			return
		}
		for _, q := range r.order {
			if !q.viewer {
				j.Others = append(j.Others, q.info())
			}
		}
		j.Recording = r.rec != nil
		if r.video != nil {
			var pinned mixer.SourceID
			j.Layout, pinned = r.video.comp.Layout()
			j.Pinned = ParticipantID(pinned)
		}
		p := &participant{id: id, display: req.Display, muted: req.Muted, volume: vol, joined: time.Now(), preferCodec: req.VideoCodec}
		p.tier.Floor = req.VideoTier
		p.viewer, p.watchOnly = req.Viewer, req.Viewer
		r.parts[id] = p
		r.order = append(r.order, p)
		seated = true
		r.membersChanged()
		j.Me = p.info()
		r.publish(Event{Kind: EventJoined, Participant: id, Info: j.Me}) // not of a viewer: see publish
	})
	if xerr != nil {
		return Joined{}, xerr
	}
	if err != nil {
		return Joined{}, err
	}
	r.addCost(1)
	r.log.Info("participant joined", "participant", j.Me.ID, "display", j.Me.Display)
	return j, nil
}

// withParticipant runs fn on the room goroutine with participant id.
func (r *Room) withParticipant(ctx context.Context, id ParticipantID, fn func(p *participant) error) error {
	var err error
	if xerr := r.exec(ctx, func() {
		p := r.parts[id]
		if p == nil {
			err = ErrParticipantNotFound
			return
		}
		err = fn(p)
	}); xerr != nil {
		return xerr
	}
	return err
}

// Update changes a participant's settings. Nil fields stay as they are.
type Update struct {
	Muted   *bool
	Display *string
	Volume  *float32
	// ByModerator marks a change made by someone else (a moderator's
	// mute): the participant is told too.
	ByModerator bool
	// VideoTier: see JoinRequest.
	VideoTier *int
}

// checkTier validates a participant's choice of tier.
func (r *Room) checkTier(t int) error {
	if n := r.tierCount(); t < 0 || t >= n {
		return fmt.Errorf("%w: video tier %d (0..%d)", ErrInvalidValue, t, r.tierCount()-1)
	}
	return nil
}

// Update applies u to participant id and tells the room.
func (r *Room) Update(ctx context.Context, id ParticipantID, u Update) (ParticipantInfo, error) {
	if u.Volume != nil && (*u.Volume < 0 || *u.Volume > 4) {
		return ParticipantInfo{}, fmt.Errorf("%w: volume %.2f (0..4)", ErrInvalidValue, *u.Volume)
	}
	if u.VideoTier != nil {
		if err := r.checkTier(*u.VideoTier); err != nil {
			return ParticipantInfo{}, err
		}
	}
	var info ParticipantInfo
	err := r.withParticipant(ctx, id, func(p *participant) error {
		if u.Muted != nil {
			p.muted = *u.Muted
		}
		if u.Display != nil {
			p.display = *u.Display
		}
		if u.Volume != nil {
			p.volume = *u.Volume
		}
		if u.VideoTier != nil {
			// Applied by the next tier check (within a second): down at
			// once, up as the bandwidth estimate allows.
			p.tier.Floor = max(*u.VideoTier, p.sizeFloor)
		}
		info = p.info()
		r.publish(Event{Kind: EventUpdated, Participant: id, Info: info, ByModerator: u.ByModerator})
		return nil
	})
	return info, err
}

// SetRoomMuted mutes or unmutes everyone at once.
func (r *Room) SetRoomMuted(ctx context.Context, muted bool) error {
	return r.exec(ctx, func() {
		if r.roomMute != muted {
			r.roomMute = muted
			r.allMuted.Store(muted)
			r.publish(Event{Kind: EventRoomMuted, Muted: muted})
		}
	})
}

// RoomMuted reports whether the whole room is muted.
func (r *Room) RoomMuted(ctx context.Context) (bool, error) {
	var m bool
	err := r.exec(ctx, func() { m = r.roomMute })
	return m, err
}

// Participants lists the room's members in joining order.
func (r *Room) Participants(ctx context.Context) ([]ParticipantInfo, error) {
	var out []ParticipantInfo
	err := r.exec(ctx, func() {
		out = make([]ParticipantInfo, 0, len(r.order))
		for _, p := range r.order {
			if !p.viewer {
				out = append(out, p.info())
			}
		}
	})
	return out, err
}

// Participant returns one member's state.
func (r *Room) Participant(ctx context.Context, id ParticipantID) (ParticipantInfo, error) {
	var info ParticipantInfo
	err := r.withParticipant(ctx, id, func(p *participant) error {
		info = p.info()
		return nil
	})
	return info, err
}

// Leave removes a participant and closes its media.
func (r *Room) Leave(ctx context.Context, id ParticipantID) error {
	return r.remove(ctx, id, "left")
}

// Kick removes a participant on the room's behalf.
func (r *Room) Kick(ctx context.Context, id ParticipantID) error {
	return r.remove(ctx, id, "kicked")
}

// Hangup closes a participant's media but keeps it in the room; it can
// send a new offer.
func (r *Room) Hangup(ctx context.Context, id ParticipantID) error {
	var conn Connection
	err := r.withParticipant(ctx, id, func(p *participant) error {
		conn = r.detachMedia(p)
		return nil
	})
	r.closeConn(conn)
	return err
}

// closeConn closes a connection taken off a participant (not on the
// room goroutine: closing may wait for the network).
func (r *Room) closeConn(conn Connection) {
	if conn == nil {
		return
	}
	if err := conn.Close(); err != nil {
		r.log.Debug("closing media connection", "err", err)
	}
}

func (r *Room) remove(ctx context.Context, id ParticipantID, reason string) error {
	// Not cancellable: a participant taken off the room must have its
	// connection closed and its cost returned, so this waits to know. (Only
	// a room ending meanwhile returns early, its goroutine done: removed is
	// then safe to read.)
	var conn Connection
	removed := false
	err := r.withParticipant(context.WithoutCancel(ctx), id, func(p *participant) error {
		conn = r.detachMedia(p)
		r.dropParticipant(p, reason)
		removed = true
		return nil
	})
	if !removed {
		return err
	}
	r.addCost(-1)
	r.closeConn(conn)
	r.log.Info("participant left", "participant", id, "reason", reason)
	return nil
}

// dropParticipant takes a participant (its media already detached) off
// the room and tells everyone (room goroutine).
func (r *Room) dropParticipant(p *participant, reason string) {
	delete(r.parts, p.id)
	r.releaseSeats(1)
	for i, q := range r.order {
		if q == p {
			r.order = append(r.order[:i], r.order[i+1:]...)
			break
		}
	}
	r.membersChanged()
	if !p.viewer {
		r.publish(Event{Kind: EventLeft, Participant: p.id, Info: p.info(), Reason: reason})
	}
}

// tierCount is the number of tiers of the composite (1 for an audio-only
// room).
func (r *Room) tierCount() int {
	if r.video == nil {
		return 1
	}
	return len(r.video.cfg.Tiers)
}

// viewerOutput is the output a viewer is on (nil if none).
func (r *Room) viewerOutput(p *participant) *videoOutput {
	if r.video == nil || p.vout == nil {
		return nil
	}
	return r.video.outputs[p.vkey]
}

// detachMedia drops a participant's media state (room goroutine) and
// returns its connection for the caller to close outside the tick.
func (r *Room) detachMedia(p *participant) Connection {
	conn := p.conn
	p.conn, p.link = nil, nil
	if p.out != nil {
		p.out.close()
		p.out = nil
	}
	if p.in != nil {
		p.in.close()
		p.in = nil
	}
	if p.vout != nil {
		r.removeViewer(p)
		p.vout.close()
		p.vout = nil
	}
	if p.vin != nil {
		// Closing waits for a decode in flight: not on the tick.
		go p.vin.close()
		p.vin = nil
	}
	r.forgetSource(p)
	return conn
}

// forgetSource takes a participant whose media left out of the mix and
// the layout (room goroutine).
func (r *Room) forgetSource(p *participant) {
	r.audio.Remove(mixer.SourceID(p.id))
	if r.video != nil {
		// Off screen at once: the next talker need not wait out the hold.
		r.video.hold.Forget(mixer.SourceID(p.id))
	}
	p.setup, p.talking = false, false
}
