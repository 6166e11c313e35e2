package room

import "fmt"

// A receiver that can decode pictures only up to some size (a room
// system whose H.264 level, or SDP max-fs, allows no more) states it in
// Media.MaxPictureSize. The room then never sends it a tier above the
// best one that fits: that tier becomes the lowest floor its tier choice
// may reach, whatever it asks for later (JoinRequest.VideoTier,
// Update) and whatever its bandwidth estimate says. A receiver no tier
// fits gets no composite (ErrNoTierFits): sending it a picture it cannot
// decode helps nobody.

// fittingTier is the best tier (lowest index) whose picture has at most
// pixels pixels; ok is false when none has.
func (v *roomVideo) fittingTier(pixels int) (tier int, ok bool) {
	for i, t := range v.cfg.Tiers {
		if t.Width*t.Height <= pixels {
			return i, true
		}
	}
	return 0, false
}

// sizeFloor is the floor a receiver of at most pixels pixels (0: no
// limit) must keep in this room.
func (r *Room) sizeFloor(pixels int) (int, error) {
	if pixels <= 0 || r.video == nil {
		return 0, nil
	}
	t, ok := r.video.fittingTier(pixels)
	if !ok {
		smallest := r.video.cfg.Tiers[len(r.video.cfg.Tiers)-1]
		return 0, fmt.Errorf("%w: the receiver decodes at most %d pixels, the smallest tier is %dx%d",
			ErrNoTierFits, pixels, smallest.Width, smallest.Height)
	}
	return t, nil
}
