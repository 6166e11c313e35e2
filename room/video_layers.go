package room

import (
	"encoding/binary"
	"slices"
	"sync/atomic"
	"time"

	"github.com/pion/rtp/codecs"

	"github.com/tessera-mcu/tessera/codec/h264/nal"
	"github.com/tessera-mcu/tessera/codec/vp8"
	"github.com/tessera-mcu/tessera/mixer"
	"github.com/tessera-mcu/tessera/room/frames"
)

// A camera may arrive as several simulcast layers (RFC 8853), the same
// picture at different sizes, each its own RTP stream named by its RID.
// An input decodes one layer at a time: the smallest that covers its
// tile on the composite. The packets of the other layers are dropped
// before assembly. A change of layer is asked for with a keyframe
// request on the new layer; the input keeps decoding the old one until
// the new one's keyframe arrives and switches there, with a fresh
// decoder, so its tile never freezes or goes blank.

// Layer switching.
const (
	// layerSteerEvery is how often the reader reconsiders the layer.
	layerSteerEvery = 100 * time.Millisecond
	// layerIdle: a layer with no packet for this long is not flowing (the
	// sender dropped it, e.g. for its bandwidth); the input falls back to
	// one that is.
	layerIdle = 500 * time.Millisecond
	// layerDownHold is how long the tile must want a smaller layer before
	// the input moves down to it. A move up (a tile that grew) is
	// immediate; a tile size that flips back and forth therefore costs
	// at most one switch per hold.
	layerDownHold = 2 * time.Second
)

// layer is one RTP stream of a camera: a simulcast layer, or the only
// stream of a camera that sends one (rid "").
type layer struct {
	rid string
	fb  SenderFeedback
	// Under the input's recvMu.
	asm     *frames.Assembler
	lastPLI time.Time
	// size is the picture size its last keyframe announced (w<<32|h; 0:
	// not seen yet).
	size atomic.Uint64
	// last is when its last packet arrived (unix nanoseconds; 0: none).
	last  atomic.Int64
	ended atomic.Bool
}

func (l *layer) pictureSize() (w, h int) {
	s := l.size.Load()
	return int(s >> 32), int(s & 0xffffffff)
}

// flowing reports whether the layer had a packet within layerIdle.
func (l *layer) flowing(now time.Time) bool {
	at := l.last.Load()
	return !l.ended.Load() && at != 0 && now.Sub(time.Unix(0, at)) < layerIdle
}

// ridRank orders layers of unknown size by their RID, smallest first, in
// the two usual conventions: q/h/f (quarter, half, full) and l/m/h (low,
// medium, high). "h" is half when a q or f layer is there, high
// otherwise. Other RIDs rank by their order of arrival, after these.
func ridRank(rid string, siblings []*layer) int {
	switch rid {
	case "q", "l", "low", "0":
		return 0
	case "m", "mid", "1":
		return 1
	case "f", "high", "2":
		return 2
	case "h":
		for _, s := range siblings {
			if s.rid == "q" || s.rid == "f" {
				return 1
			}
		}
		return 2
	}
	for i, s := range siblings {
		if s.rid == rid {
			return 3 + i
		}
	}
	return 3 + len(siblings)
}

// estimatedSize is a layer's picture size: what its keyframes said, or,
// before it sent one, an estimate from a layer whose size is known, a
// factor of two per rank (browsers' usual scaleResolutionDownBy 4, 2,
// 1). ok is false when no layer's size is known.
func estimatedSize(l *layer, layers []*layer) (w, h int, ok bool) {
	if w, h = l.pictureSize(); w > 0 {
		return w, h, true
	}
	r := ridRank(l.rid, layers)
	for _, o := range layers {
		if ow, oh := o.pictureSize(); ow > 0 {
			d := r - ridRank(o.rid, layers)
			switch {
			case d > 0:
				return ow << d, oh << d, true
			case d < 0:
				return max(ow>>-d, 2), max(oh>>-d, 2), true
			}
		}
	}
	return 0, 0, false
}

// covers reports whether a w x h picture is big enough for a tile of
// tw x th: at least three quarters of the size it is drawn at (a mild
// upscale costs the picture less than decoding twice the pixels saves).
func covers(w, h, tw, th int) bool {
	fw, fh := mixer.FitSize(tw, th, w, h)
	return 4*w >= 3*fw && 4*h >= 3*fh
}

// wantedLayer picks the layer for a tile of tw x th (0: not drawn yet):
// among the layers flowing whose pictures fit the input limits, the
// smallest that covers the tile, else the largest; with no tile, or no
// size known yet, the smallest. nil: none is flowing.
func (in *videoInput) wantedLayer(tw, th int, now time.Time) *layer {
	var cs []*layer
	for _, l := range in.layers {
		if !l.flowing(now) {
			continue
		}
		if w, h, known := estimatedSize(l, in.layers); known && !in.worker.limits.fits(w, h) {
			continue
		}
		cs = append(cs, l)
	}
	if len(cs) == 0 {
		return nil
	}
	slices.SortStableFunc(cs, func(a, b *layer) int {
		switch {
		case in.isLarger(a, b):
			return 1
		case in.isLarger(b, a):
			return -1
		}
		return 0
	})
	if tw == 0 {
		return cs[0]
	}
	for _, l := range cs {
		w, h, known := estimatedSize(l, in.layers)
		if !known {
			return cs[0] // its keyframe will tell
		}
		if covers(w, h, tw, th) {
			return l
		}
	}
	return cs[len(cs)-1]
}

// isLarger reports whether layer a's pictures are larger than b's.
func (in *videoInput) isLarger(a, b *layer) bool {
	aw, ah, ak := estimatedSize(a, in.layers)
	bw, bh, bk := estimatedSize(b, in.layers)
	if ak && bk && aw*ah != bw*bh {
		return aw*ah > bw*bh
	}
	return ridRank(a.rid, in.layers) > ridRank(b.rid, in.layers)
}

// steer reconsiders which layer to decode (reader goroutines, under
// recvMu): every layerSteerEvery, it compares the layer the tile wants
// with the one decoded and, when they differ, asks the wanted one for a
// keyframe to switch at. Moves down wait layerDownHold; moves up and
// moves away from a layer that stopped do not.
func (in *videoInput) steer(now time.Time) {
	if len(in.layers) < 2 && in.cur != nil {
		return
	}
	if now.Sub(in.steered) < layerSteerEvery {
		return
	}
	in.steered = now
	t := in.tile.Load()
	target := in.wantedLayer(int(t>>32), int(t&0xffffffff), now)
	switch {
	case target == nil:
		return
	case target == in.cur:
		in.want, in.downSince = nil, time.Time{}
		return
	case target == in.want:
		// Still waiting for its keyframe: ask again (rate-limited).
		in.layerKeyframe(target, now)
		return
	}
	if in.cur != nil && in.cur.flowing(now) && !in.isLarger(target, in.cur) {
		if in.downSince.IsZero() {
			in.downSince = now
		}
		if now.Sub(in.downSince) < layerDownHold {
			return
		}
	}
	in.downSince = time.Time{}
	in.want = target
	// Its packets were dropped until now: assembly starts afresh.
	target.asm = frames.New(newDepacketizer(in.codec), retransmitWait)
	in.layerKeyframe(target, now)
}

// switchTo makes l the decoded layer at one of its keyframes (under
// recvMu): the decoder starts afresh with it.
func (in *videoInput) switchTo(l *layer) {
	if in.cur != nil {
		in.switches.Add(1)
		if in.count != nil {
			in.count.layerSwitches.Add(1)
		}
	}
	in.cur, in.want, in.downSince = l, nil, time.Time{}
	in.resetDecoder = true
	in.tooBig = false
}

// layerKeyframe asks one layer for a keyframe, at most once per
// pliInterval.
func (in *videoInput) layerKeyframe(l *layer, now time.Time) {
	if l == nil || now.Sub(l.lastPLI) < pliInterval {
		return
	}
	l.lastPLI = now
	if err := l.fb.RequestKeyframe(); err == nil {
		in.plis.Add(1)
		if in.count != nil {
			in.count.keyframeRequestsOut.Add(1)
		}
	}
}

// packetPictureSize reads the picture size from the first packet of a
// keyframe, when it carries it (a VP8 keyframe's header, an H.264
// sequence parameter set alone or in a STAP-A), so that the size of a
// layer is known without assembling its frames.
func packetPictureSize(codecName string, payload []byte) (w, h int, ok bool) {
	if codecName == CodecH264 {
		if len(payload) == 0 {
			return 0, 0, false
		}
		switch payload[0] & 0x1f {
		case 7: // SPS
			return nal.SPSSize(payload)
		case 24: // STAP-A (RFC 6184, section 5.7.1)
			for b := payload[1:]; len(b) > 2; {
				n := int(binary.BigEndian.Uint16(b))
				if n == 0 || 2+n > len(b) {
					return 0, 0, false
				}
				if u := b[2 : 2+n]; u[0]&0x1f == 7 {
					return nal.SPSSize(u)
				}
				b = b[2+n:]
			}
		}
		return 0, 0, false
	}
	var p codecs.VP8Packet
	if _, err := p.Unmarshal(payload); err != nil || p.S != 1 || p.PID != 0 {
		return 0, 0, false
	}
	return vp8.KeyframeSize(p.Payload)
}

// layerStats tells how many layers the camera has, the RID and size of
// the one whose pictures are decoded, and, for a simulcast camera, each
// layer's.
func (in *videoInput) layerStats(now time.Time) (n int, rid string, w, h int, list []LayerStats) {
	in.recvMu.Lock()
	n = len(in.layers)
	if n > 1 || n == 1 && in.layers[0].rid != "" {
		for _, l := range in.layers {
			lw, lh := l.pictureSize()
			list = append(list, LayerStats{RID: l.rid, Width: lw, Height: lh, Flowing: l.flowing(now)})
		}
	}
	in.recvMu.Unlock()
	if l := in.shown.Load(); l != nil {
		rid = l.rid
		w, h = l.pictureSize()
	}
	return n, rid, w, h, list
}
