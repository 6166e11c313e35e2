package room

import "time"

// A camera that sends one stream is told, with RTCP REMB, the bitrate its
// tile needs: a browser then lowers its resolution by itself, and the
// room decodes fewer pixels. A simulcast camera is not capped (a cap
// would turn off its larger layers); its layers are chosen instead (see
// video_layers.go).

// Bitrate caps of single-stream cameras.
const (
	// bitsPerTilePixel is the bitrate a tile needs per pixel of it, in
	// bits per second: about 350 kbps for a ninth of 1280x720.
	bitsPerTilePixel = 3.5
	// minCameraBitrate and maxCameraBitrate bound the cap: a camera is
	// never told less than a small tile's need nor held below what a
	// full 720p tile takes.
	minCameraBitrate = 150_000
	maxCameraBitrate = 2_500_000
	// bitrateCapRefresh: browsers forget a REMB they are not reminded
	// of, so the cap is sent again this often.
	bitrateCapRefresh = time.Second
	// bitrateCapMinGap: a tile whose size flips sends at most one cap
	// per this interval.
	bitrateCapMinGap = 250 * time.Millisecond
)

// bitrateCap is what a single-stream camera was last told (reader
// goroutine, under the input's recvMu).
type bitrateCap struct {
	tile uint64 // the tile size the cap was for (see videoInput.tile)
	at   time.Time
}

// tileBitrate is the bitrate a camera needs for a w x h tile.
func tileBitrate(w, h int) uint64 {
	return uint64(min(max(float64(w*h)*bitsPerTilePixel, minCameraBitrate), maxCameraBitrate))
}

// capBitrate tells a single-stream camera the bitrate its tile needs
// when the tile changes size, and again every bitrateCapRefresh (under
// recvMu). A camera whose pictures exceed the input limits is told
// less by askToShrink instead.
func (in *videoInput) capBitrate(now time.Time) {
	if len(in.layers) != 1 || in.layers[0].rid != "" || in.tooBig {
		return
	}
	t := in.tile.Load()
	c := &in.bitrateCap
	if t == 0 || now.Sub(c.at) < bitrateCapMinGap || t == c.tile && now.Sub(c.at) < bitrateCapRefresh {
		return
	}
	c.tile, c.at = t, now
	bps := tileBitrate(int(t>>32), int(t&0xffffffff))
	if in.layers[0].fb.LimitBitrate(bps) == nil {
		in.capped.Store(bps)
	}
}
