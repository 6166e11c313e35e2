package room

import (
	"fmt"
	"time"

	"github.com/pion/rtp"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/h264"
	"github.com/tessera-mcu/tessera/codec/vp8"
	"github.com/tessera-mcu/tessera/codec/yuv"
	"github.com/tessera-mcu/tessera/mixer"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// Codec names of the composite and of cameras.
const (
	CodecVP8  = endpoint.CodecVP8
	CodecH264 = endpoint.CodecH264
)

// Tier is one quality of the composite: its size and target bitrate.
type Tier struct {
	Width, Height int
	Bitrate       int
}

// VideoConfig configures a room's composite video.
type VideoConfig struct {
	// Disabled makes the room audio-only.
	Disabled bool
	// Canvas size and frame rate (default the compositor's default
	// canvas, mixer.DefaultCanvasWidth x mixer.DefaultCanvasHeight, at
	// 30 fps).
	Width, Height, FPS int
	// Tiers, best first (default the canvas size at 1.5 Mbps, half of it
	// each way at 400 kbps and a quarter at 150 kbps, which a CIF room
	// system can take). Each viewer gets one, chosen by its bandwidth
	// estimate, at most the best its picture size allows. A tier nobody
	// views costs nothing.
	Tiers []Tier
	// Layout at start (default grid).
	Layout mixer.LayoutKind
	// NoPlaceholders leaves participants without video off the canvas
	// (by default they get a tile with their name).
	NoPlaceholders bool
	// StallTimeout is how long a stalled camera keeps its last picture
	// before its tile shows the placeholder (default 2 s).
	StallTimeout time.Duration
	// SpeakerHold is how long a new talker must be the loudest before the
	// active-speaker layout switches to it (default 1.5 s).
	SpeakerHold time.Duration
}

func (c *VideoConfig) setDefaults() error {
	if c.Width == 0 && c.Height == 0 {
		c.Width, c.Height = mixer.DefaultCanvasWidth, mixer.DefaultCanvasHeight
	}
	if c.FPS == 0 {
		c.FPS = 30
	}
	if len(c.Tiers) == 0 {
		c.Tiers = []Tier{{c.Width, c.Height, 1_500_000}, {c.Width / 2 &^ 1, c.Height / 2 &^ 1, 400_000},
			{c.Width / 4 &^ 1, c.Height / 4 &^ 1, 150_000}}
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = 2 * time.Second
	}
	if c.SpeakerHold == 0 {
		c.SpeakerHold = 1500 * time.Millisecond
	}
	if len(c.Tiers) > 8 {
		return fmt.Errorf("%w: %d tiers (at most 8)", ErrInvalidConfig, len(c.Tiers))
	}
	if c.FPS < 1 || c.FPS > 60 {
		return fmt.Errorf("%w: video frame rate %d (1..60)", ErrInvalidConfig, c.FPS)
	}
	for _, t := range c.Tiers {
		if t.Width < 16 || t.Height < 16 || t.Width%2 != 0 || t.Height%2 != 0 || t.Width > c.Width || t.Height > c.Height || t.Bitrate < 50_000 {
			return fmt.Errorf("%w: tier %dx%d at %d bps (even sizes, within the canvas, >= 50 kbps)", ErrInvalidConfig, t.Width, t.Height, t.Bitrate)
		}
	}
	return nil
}

// outputKey names one encoded composite: a codec at a tier.
type outputKey struct {
	codec string
	tier  int
}

func (k outputKey) String() string { return fmt.Sprintf("%s/%d", k.codec, k.tier) }

// videoOutput is one encoder of the composite, shared by every viewer on
// its codec and tier.
type videoOutput struct {
	key     outputKey
	enc     codec.VideoEncoder
	pay     rtp.Payloader // cuts pictures into RTP payloads (see packetize)
	viewers int
	// keyWanted: a keyframe was asked for; it is forced once the last one
	// is keyGap old (requests coalesce: the most urgent gap wins).
	keyWanted bool
	keyGap    time.Duration
	lastKey   time.Time
	idleSince time.Time
	carry     time.Duration // room time the next frame's duration covers

	frames, keyframes, bytes, forced uint64
	plis, plisAnswered               uint64
}

// roomVideo is the video half of a room; it belongs to the room goroutine.
type roomVideo struct {
	cfg     VideoConfig
	comp    *mixer.Compositor
	hold    *mixer.SpeakerHold
	frames  *codec.FramePool
	outputs map[outputKey]*videoOutput
	sources []mixer.VideoSource
	// canvas is the composite, drawn over frame after frame: the
	// compositor redraws only the tiles that changed.
	canvas *codec.Frame
	scaled []*codec.Frame // per tier > 0, reused
	// bitrates are the tiers' target bitrates, best first.
	bitrates []int
	ticks    int64
	skipped  uint64
	gap      int64 // skipped ticks the next frame's duration covers
	tiles    []mixer.Tile
}

func newRoomVideo(cfg VideoConfig) (*roomVideo, error) {
	comp, err := mixer.NewCompositor(mixer.CompositorConfig{Width: cfg.Width, Height: cfg.Height})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	comp.SetLayout(cfg.Layout, 0)
	v := &roomVideo{
		cfg: cfg, comp: comp, hold: mixer.NewSpeakerHold(cfg.SpeakerHold),
		frames: codec.NewFramePool(4), outputs: make(map[outputKey]*videoOutput),
		scaled: make([]*codec.Frame, len(cfg.Tiers)), canvas: codec.NewFrame(cfg.Width, cfg.Height),
	}
	for i := 1; i < len(cfg.Tiers); i++ {
		v.scaled[i] = codec.NewFrame(cfg.Tiers[i].Width, cfg.Tiers[i].Height)
	}
	for _, t := range cfg.Tiers {
		v.bitrates = append(v.bitrates, t.Bitrate)
	}
	return v, nil
}

// release takes one viewer (a participant or the recorder) off an
// output; an output nobody views starts counting its idle time.
func (v *roomVideo) release(key outputKey) {
	if o := v.outputs[key]; o != nil {
		o.viewers--
		if o.viewers == 0 {
			o.idleSince = time.Now()
		}
	}
}

func (v *roomVideo) period() time.Duration { return time.Second / time.Duration(v.cfg.FPS) }

// h264SliceBytes bounds every slice of every H.264 output, so that each
// NAL unit fits one RTP packet of 1200 bytes: endpoints that take H.264
// only in single NAL unit mode (RFC 6184 packetization-mode 0, some room
// systems) can then share a tier's one encoder with everyone else. It
// costs the others next to nothing (x264 ultrafast at 640x360: the same
// bitrate and encode time, picture quality within about 1 dB of 50 dB on
// clean content and unchanged on camera-like content), where a second,
// sliced encoder per tier would double the encoding of that tier.
const h264SliceBytes = 1100

// output returns the encoder for key, creating it on first use.
func (v *roomVideo) output(key outputKey) (*videoOutput, error) {
	if o, ok := v.outputs[key]; ok {
		return o, nil
	}
	t := v.cfg.Tiers[key.tier]
	var (
		enc codec.VideoEncoder
		err error
	)
	if key.codec == CodecH264 {
		enc, err = h264.NewEncoder(h264.EncoderConfig{Width: t.Width, Height: t.Height, FPS: v.cfg.FPS,
			Bitrate: t.Bitrate, MaxSliceBytes: h264SliceBytes})
	} else {
		enc, err = vp8.NewEncoder(vp8.EncoderConfig{Width: t.Width, Height: t.Height, FPS: v.cfg.FPS, Bitrate: t.Bitrate})
	}
	if err != nil {
		return nil, err
	}
	o := &videoOutput{key: key, enc: enc, keyWanted: true}
	v.outputs[key] = o
	return o, nil
}

// Keyframe urgency: how old the last keyframe must be before a request is
// served with a new one.
const (
	// keyframeInterval serves PLIs: many viewers' requests after one loss
	// cost one IDR.
	keyframeInterval = 500 * time.Millisecond
	// keyframeFresh: a request that arrives this soon after the output's
	// last keyframe was sent before its viewer could have had that
	// keyframe, which answers it. A later one is served at the latest
	// keyframeInterval after that keyframe, so no request waits more
	// than keyframeInterval-keyframeFresh plus one frame.
	keyframeFresh = 200 * time.Millisecond
	// keyframeNewViewer serves a viewer that just connected or changed
	// tier: it shows nothing (or a frozen picture) until then.
	keyframeNewViewer = 250 * time.Millisecond
	// keyframeNow serves a recording that starts: its file begins there.
	keyframeNow = 0
)

// requestKeyframe asks an output for a keyframe once its last one is gap
// old; requests coalesce.
func (o *videoOutput) requestKeyframe(gap time.Duration) {
	if !o.keyWanted || gap < o.keyGap {
		o.keyGap = gap
	}
	o.keyWanted = true
}

// keyframeDue tells whether the next frame must be a keyframe.
func (o *videoOutput) keyframeDue(now time.Time) bool {
	return o.keyWanted && now.Sub(o.lastKey) >= o.keyGap
}

// outputIdleClose is how long an encoder with no viewers is kept.
const outputIdleClose = 10 * time.Second

func (v *roomVideo) close() {
	for k, o := range v.outputs {
		o.enc.Close()
		delete(v.outputs, k)
	}
}

// scaleFilter for the tier reductions: exact halves take libyuv's fast
// path, other ratios are cheaper bilinear than box.
func scaleFilter(src, dst *codec.Frame) yuv.Filter {
	if src.Width == 2*dst.Width && src.Height == 2*dst.Height {
		return yuv.Box
	}
	return yuv.Bilinear
}
