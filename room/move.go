package room

import (
	"context"
	"fmt"
)

// carried is a participant's media session on its way between rooms.
type carried struct {
	conn      Connection
	link      *Link
	in        *audioInput
	out       *Output
	vin       *videoInput
	vout      *Output
	vcodec    string
	acodec    string
	watchOnly bool
	setup     bool
	floor     int
	// maxPicture: see participant.
	maxPicture int
	loss       lossState
	kind       string
}

// Move takes participant id out of r into dst, as a new participant of
// dst described by req, with its media connection, and returns what Enter
// does: the connection stays up, and the client keeps sending and
// receiving, now in dst (its mix and composite are dst's from the next
// tick). If dst refuses the join (wrong
// pin, full, ID taken), nothing changes. Moving into an audio-only room
// stops the composite; moving a camera out of one into a video room needs
// a new offer, as its track was never read.
func (r *Room) Move(ctx context.Context, id ParticipantID, dst *Room, req JoinRequest) (Joined, error) {
	if dst == r {
		return Joined{}, fmt.Errorf("%w: already in room %d", ErrCannotMove, r.id)
	}
	if dst.mgr != r.mgr {
		return Joined{}, fmt.Errorf("%w: rooms of different managers", ErrCannotMove)
	}
	if _, err := r.Participant(ctx, id); err != nil {
		return Joined{}, err
	}
	j, err := dst.enter(ctx, req, true)
	if err != nil {
		return Joined{}, err
	}
	me := j.Me
	// exec may report the room's end even after fn ran (both are ready
	// at once), so what actually happened is read from flags set inside.
	var (
		c            carried
		taken, given bool
	)
	_ = r.withParticipant(context.WithoutCancel(ctx), id, func(p *participant) error {
		c, taken = r.takeMedia(p), true
		r.dropParticipant(p, "moved")
		return nil
	})
	if !taken {
		_ = dst.Leave(context.WithoutCancel(ctx), me.ID)
		return Joined{}, fmt.Errorf("%w: participant %d left room %d during the move", ErrParticipantNotFound, id, r.id)
	}
	r.addCost(-1)
	r.log.Info("participant moved", "participant", id, "to_room", dst.id, "as", me.ID)
	if c.conn == nil {
		return j, nil
	}
	c.link.set(dst, me.ID)
	_ = dst.withParticipant(context.WithoutCancel(ctx), me.ID, func(p *participant) error {
		dst.giveMedia(p, c)
		me, given = p.info(), true
		return nil
	})
	if !given {
		// The new room ended meanwhile: the connection has nowhere to go.
		c.close()
		return Joined{}, ErrClosed
	}
	j.Me = me
	return j, nil
}

// takeMedia detaches a participant's media session from the room without
// closing it (room goroutine).
func (r *Room) takeMedia(p *participant) carried {
	c := carried{conn: p.conn, link: p.link, in: p.in, out: p.out, vin: p.vin, vout: p.vout,
		vcodec: p.vcodec, acodec: p.acodec, watchOnly: p.watchOnly, setup: p.setup, floor: p.tier.Floor, loss: p.loss, kind: p.kind,
		maxPicture: p.maxPicture}
	if p.vout != nil {
		r.removeViewer(p)
	}
	p.conn, p.in, p.out, p.vin, p.vout, p.link = nil, nil, nil, nil, nil, nil
	r.forgetSource(p)
	return c
}

// giveMedia attaches a media session taken from another room (room
// goroutine).
func (r *Room) giveMedia(p *participant, c carried) {
	p.conn, p.link, p.in, p.out, p.vcodec, p.watchOnly = c.conn, c.link, c.in, c.out, c.vcodec, c.watchOnly
	p.loss, p.kind, p.acodec = c.loss, c.kind, c.acodec
	// The listener's decoder follows the old room's stream: the first
	// frame of this room's mix must be a keyframe.
	p.mix = noMix
	p.tier.Floor = min(max(p.tier.Floor, c.floor), r.tierCount()-1)
	if r.video == nil {
		// An audio-only room: no composite to send, no tile to fill.
		if c.vout != nil {
			c.vout.close()
		}
		if c.vin != nil {
			go c.vin.close()
		}
	} else {
		p.vin, p.vout = c.vin, c.vout
		if floor, err := r.sizeFloor(c.maxPicture); p.vout != nil && err != nil {
			// No tier of this room fits the receiver: it gets no composite.
			r.log.Info("no composite for a moved participant", "participant", p.id, "err", err)
			p.vout.close()
			p.vout = nil
		} else if p.vout != nil {
			p.maxPicture, p.sizeFloor = c.maxPicture, floor
			p.tier.Floor = max(p.tier.Floor, floor)
		}
		if p.vout != nil {
			r.addViewer(p, outputKey{codec: c.vcodec, tier: p.tier.Floor})
		}
	}
	if c.setup {
		p.setup = true
		if o := r.viewerOutput(p); o != nil {
			o.requestKeyframe(keyframeNewViewer)
		}
		r.publish(Event{Kind: EventUpdated, Participant: p.id, Info: p.info()})
	}
}

// close ends a media session that has no room to go to.
func (c carried) close() {
	for _, e := range []*Output{c.out, c.vout} {
		if e != nil {
			e.close()
		}
	}
	if c.in != nil {
		c.in.close()
	}
	if c.vin != nil {
		go c.vin.close()
	}
	if c.conn != nil {
		_ = c.conn.Close()
	}
}
