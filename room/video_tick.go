package room

import (
	"context"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/yuv"
	"github.com/tessera-mcu/tessera/mixer"
	"github.com/tessera-mcu/tessera/room/tier"
)

// videoTick composes one picture and encodes it once per output in use.
func (r *Room) videoTick(now time.Time) {
	v := r.video
	v.ticks++
	if v.ticks%int64(v.cfg.FPS) == 0 {
		r.chooseTiers(now)
	}
	inUse := false
	for key, o := range v.outputs {
		switch {
		case o.viewers > 0:
			inUse = true
		case now.Sub(o.idleSince) > outputIdleClose:
			o.enc.Close()
			delete(v.outputs, key)
		}
	}
	if !inUse {
		v.gap = 0
		return
	}

	v.sources = v.sources[:0]
	for _, p := range r.order {
		if p.watchOnly {
			continue
		}
		var (
			f       *codec.Frame
			version uint64
		)
		if p.vin != nil {
			var at time.Time
			if f, version, at = p.vin.snapshot(now); f != nil && now.Sub(at) > v.cfg.StallTimeout {
				f.Release() // stalled too long: placeholder
				f, version = nil, 0
			}
		} else if v.cfg.NoPlaceholders {
			continue
		}
		v.sources = append(v.sources, mixer.VideoSource{ID: mixer.SourceID(p.id), Frame: f, Name: p.display, Version: version})
	}
	speaker := v.hold.Update(r.loudest, now)
	canvas := v.canvas
	tiles, err := v.comp.Compose(canvas, v.sources, speaker)
	for _, s := range v.sources {
		if s.Frame != nil {
			s.Frame.Release()
		}
	}
	if err != nil {
		r.videoError("compose failed", err)
		v.gap++ // the next frame covers this tick
		return
	}
	v.tiles = append(v.tiles[:0], tiles...)
	// Each camera's decode worker scales its next pictures to the tile
	// they will fill, so the compositor copies them.
	for _, t := range tiles {
		if p := r.parts[ParticipantID(t.ID)]; p != nil && p.vin != nil {
			p.vin.setTile(t.Rect.Dx(), t.Rect.Dy())
		}
	}

	dur := v.period() * time.Duration(1+v.gap)
	v.gap = 0
	var scaledTier [8]bool // tiers are few
	for _, o := range v.outputs {
		if o.viewers == 0 {
			continue
		}
		// Time of frames the encoder did not produce goes to the next
		// one: RTP time stays on the room clock without a false loss.
		o.carry += dur
		frame := canvas
		if t := o.key.tier; t > 0 {
			frame = v.scaled[t]
			if !scaledTier[t] {
				if err := yuv.Scale(frame, canvas, scaleFilter(canvas, frame)); err != nil {
					r.videoError("scale failed", err)
					continue
				}
				scaledTier[t] = true
			}
		}
		if o.keyframeDue(now) {
			if kf, ok := o.enc.(codec.KeyframeForcer); ok {
				kf.ForceKeyframe()
				o.forced++
				r.count.forcedKeyframes.Add(1)
			}
			o.keyWanted = false
		}
		pkt, err := o.enc.Encode(frame)
		if err != nil {
			r.videoError("video encode failed", err, "output", o.key.String())
			continue
		}
		if len(pkt.Data) == 0 {
			continue
		}
		o.frames++
		o.bytes += uint64(len(pkt.Data))
		if pkt.Keyframe {
			o.keyframes++
			r.count.keyframes.Add(1)
			o.lastKey = now
		}
		sample := Frame{Data: append([]byte(nil), pkt.Data...), Duration: o.carry}
		sample.Packets = o.packetize(sample.Data)
		o.carry = 0
		r.recordVideo(o.key, sample.Data, pkt.Keyframe, now)
		r.streamVideo(o, sample.Data, pkt.Keyframe)
		for _, p := range r.order {
			if p.vout == nil || p.vkey != o.key {
				continue
			}
			if !p.vready {
				// A viewer new to this output (just connected, or moved
				// from another tier) starts on a keyframe: frames before
				// it would only decode to garbage.
				if !pkt.Keyframe || !p.setup {
					p.vout.skip()
					continue
				}
				p.vready = true
			}
			if !p.vout.push(sample) {
				// The viewer lost a frame: nothing decodes until the next
				// keyframe, so nothing is sent until then.
				p.vready = false
				o.requestKeyframe(keyframeInterval)
			}
		}
	}
}

// videoError counts a failure of the composite path and logs it (at most
// one line per loglimit.Interval).
func (r *Room) videoError(msg string, err error, args ...any) {
	n := r.stats.videoErrors.Add(1)
	r.errLog.video.Warn(r.log, msg, append(args, "err", err, "errors", n)...)
}

// addViewer puts a participant's outgoing video on an output.
func (r *Room) addViewer(p *participant, key outputKey) {
	o, err := r.video.output(key)
	if err != nil {
		r.log.Error("cannot create video encoder", "output", key.String(), "err", err)
		return
	}
	o.viewers++
	o.requestKeyframe(keyframeNewViewer) // a new viewer needs one to start decoding
	p.vkey, p.vready = key, false
	r.addCost(2)
	t := r.video.cfg.Tiers[key.tier]
	r.publish(Event{Kind: EventTier, Participant: p.id, Tier: key.tier, Width: t.Width, Height: t.Height})
}

func (r *Room) removeViewer(p *participant) {
	r.video.release(p.vkey)
	r.addCost(-2)
}

// viewerWantsKeyframe handles a PLI or FIR from a viewer. A request that
// arrives while the output's last keyframe is less than keyframeFresh
// old is answered by that keyframe, which is already on its way: a burst
// of PLIs from many viewers after one loss costs one IDR. A later request
// (a loss after the keyframe, a room system's picture fast update) gets
// a new keyframe once the last is keyframeInterval old: at most two IDRs
// a second per output, and none waits more than about 300 ms.
func (r *Room) viewerWantsKeyframe(id ParticipantID, requests uint64) {
	p := r.parts[id]
	if p == nil || p.vout == nil || r.video == nil {
		return
	}
	o := r.video.outputs[p.vkey]
	if o == nil {
		return
	}
	o.plis += requests
	r.count.keyframeRequestsIn.Add(requests)
	if time.Since(o.lastKey) < keyframeFresh && !o.keyWanted {
		o.plisAnswered += requests
		return
	}
	o.requestKeyframe(keyframeInterval)
}

// chooseTiers moves viewers between tiers by their bandwidth estimate
// (see package tier for the policy).
func (r *Room) chooseTiers(now time.Time) {
	for _, p := range r.order {
		if p.vout == nil || p.conn == nil {
			continue
		}
		bps := p.conn.TargetBitrate()
		if bps <= 0 {
			continue // the connection has no estimate: the viewer's floor stands
		}
		from, lost := p.vkey.tier, p.loss.videoOut
		p.loss.videoOut = 0
		to := p.tier.Next(from, tier.Check{Bps: bps, Lost: lost}, r.video.bitrates, now)
		if to == from {
			continue
		}
		args := []any{"participant", p.id, "from", from, "to", to, "estimate_bps", bps, "lost", lost}
		if to > from {
			args = append(args, "retry_up_in", p.tier.RetryIn(now))
		}
		r.log.Info("viewer changes tier", args...)
		r.removeViewer(p)
		r.addViewer(p, outputKey{codec: p.vkey.codec, tier: to})
	}
}

// SetLayout changes the room's layout; pinned is the participant shown
// large in the presentation layout.
func (r *Room) SetLayout(ctx context.Context, kind mixer.LayoutKind, pinned ParticipantID) error {
	if r.video == nil {
		return ErrNoVideo
	}
	return r.exec(ctx, func() {
		r.video.comp.SetLayout(kind, mixer.SourceID(pinned))
		r.publish(Event{Kind: EventLayout, Layout: kind.String(), Participant: pinned})
	})
}

// Layout returns the room's layout and pinned participant.
func (r *Room) Layout(ctx context.Context) (mixer.LayoutKind, ParticipantID, error) {
	if r.video == nil {
		return 0, 0, ErrNoVideo
	}
	var (
		kind   mixer.LayoutKind
		pinned mixer.SourceID
	)
	err := r.exec(ctx, func() { kind, pinned = r.video.comp.Layout() })
	return kind, ParticipantID(pinned), err
}

// TileInfo places a participant on the composite.
type TileInfo struct {
	Participant ParticipantID `json:"participant"`
	X           int           `json:"x"`
	Y           int           `json:"y"`
	Width       int           `json:"width"`
	Height      int           `json:"height"`
	Large       bool          `json:"large,omitempty"`
	// Placeholder: the participant has no picture (audio only, camera
	// off or stalled); its tile shows its name.
	Placeholder bool `json:"placeholder,omitempty"`
}

// Tiles returns where each participant was drawn on the last composite,
// in canvas coordinates.
func (r *Room) Tiles(ctx context.Context) ([]TileInfo, error) {
	if r.video == nil {
		return nil, ErrNoVideo
	}
	var out []TileInfo
	err := r.exec(ctx, func() {
		for _, t := range r.video.tiles {
			out = append(out, TileInfo{Participant: ParticipantID(t.ID), X: t.Rect.X0, Y: t.Rect.Y0,
				Width: t.Rect.Dx(), Height: t.Rect.Dy(), Large: t.Large, Placeholder: t.Placeholder})
		}
	})
	return out, err
}

// OutputStats describes one video encoder of the composite.
type OutputStats struct {
	Codec     string `json:"codec"`
	Tier      int    `json:"tier"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	Viewers   int    `json:"viewers"`
	Frames    uint64 `json:"frames"`
	Keyframes uint64 `json:"keyframes"`
	Forced    uint64 `json:"forced_keyframes"`
	Bytes     uint64 `json:"bytes"`
	PLIs      uint64 `json:"plis_received"`
	// PLIsAnswered arrived while a fresh keyframe was already on its way.
	PLIsAnswered uint64 `json:"plis_answered_by_recent_keyframe"`
}

// VideoInputStats describes one participant's camera path.
type VideoInputStats struct {
	Participant  ParticipantID `json:"participant"`
	Codec        string        `json:"codec"`
	Packets      uint64        `json:"packets"`
	Frames       uint64        `json:"frames"`
	Keyframes    uint64        `json:"keyframes"`
	Decoded      uint64        `json:"decoded"`
	DecodeErrors uint64        `json:"decode_errors"`
	Dropped      uint64        `json:"dropped"`
	Lost         uint64        `json:"lost"`
	PLIs         uint64        `json:"plis_sent"`
	// Oversized: frames dropped for a picture larger than the input
	// limits; OverBudget: for the input's decode time.
	Oversized  uint64 `json:"oversized"`
	OverBudget uint64 `json:"over_budget"`
	// Layers is how many simulcast layers the camera sends (1: a single
	// stream). Layer is the RID of the one whose pictures are decoded
	// ("" for a single stream), LayerWidth x LayerHeight its size (from
	// its keyframes; 0 until one is seen); LayerSwitches counts changes
	// of layer, LayerDropped the packets of the layers not decoded
	// (Packets counts those of every layer).
	Layers        int    `json:"layers"`
	Layer         string `json:"layer"`
	LayerWidth    int    `json:"layer_width"`
	LayerHeight   int    `json:"layer_height"`
	LayerSwitches uint64 `json:"layer_switches"`
	LayerDropped  uint64 `json:"layer_dropped_packets"`
	// LayerList describes each layer of a simulcast camera.
	LayerList []LayerStats `json:"layer_list,omitempty"`
	// BitrateCap is the bitrate a single-stream camera was last told to
	// stay under for its tile (RTCP REMB, bits per second; 0: none).
	BitrateCap uint64 `json:"bitrate_cap_bps"`
}

// LayerStats describes one simulcast layer of a camera: its RID, the
// picture size its keyframes announce (0 until one is seen), and whether
// its packets are arriving.
type LayerStats struct {
	RID     string `json:"rid"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Flowing bool   `json:"flowing"`
}

func (r *Room) videoStats(s *RoomStats) {
	v := r.video
	if v == nil {
		return
	}
	s.VideoTicks, s.VideoSkipped = v.ticks, v.skipped
	for _, o := range v.outputs {
		t := v.cfg.Tiers[o.key.tier]
		s.VideoOutputs = append(s.VideoOutputs, OutputStats{Codec: o.key.codec, Tier: o.key.tier, Width: t.Width, Height: t.Height,
			Viewers: o.viewers, Frames: o.frames, Keyframes: o.keyframes, Forced: o.forced, Bytes: o.bytes,
			PLIs: o.plis, PLIsAnswered: o.plisAnswered})
	}
	for _, p := range r.order {
		if in := p.vin; in != nil {
			st := VideoInputStats{Participant: p.id, Codec: in.codec,
				Packets: in.packets.Load(), Frames: in.frames.Load(), Keyframes: in.keyframes.Load(), Decoded: in.decoded.Load(),
				DecodeErrors: in.decodeErrors.Load(), Dropped: in.dropped.Load(), Lost: in.lost.Load(), PLIs: in.plis.Load(),
				Oversized: in.oversized.Load(), OverBudget: in.budgetDrops.Load(),
				LayerSwitches: in.switches.Load(), LayerDropped: in.layerDropped.Load(), BitrateCap: in.capped.Load()}
			st.Layers, st.Layer, st.LayerWidth, st.LayerHeight, st.LayerList = in.layerStats(time.Now())
			s.VideoInputs = append(s.VideoInputs, st)
		}
	}
}
