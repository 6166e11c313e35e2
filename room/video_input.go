package room

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/h264"
	"github.com/tessera-mcu/tessera/codec/h264/nal"
	"github.com/tessera-mcu/tessera/codec/vp8"
	"github.com/tessera-mcu/tessera/codec/yuv"
	"github.com/tessera-mcu/tessera/internal/loglimit"
	"github.com/tessera-mcu/tessera/mixer"
	"github.com/tessera-mcu/tessera/room/frames"
)

// pliInterval is the shortest time between two keyframe requests to one
// sender.
const pliInterval = 500 * time.Millisecond

// videoInput is one participant's camera on its way into the composite.
// The network reader goroutine (one per layer of a simulcast camera)
// assembles frames of the layer decoded and gates them on keyframes; a
// decode worker decodes them; the room tick takes the latest picture.
type videoInput struct {
	codec  string
	worker *decodeWorker
	log    *slog.Logger
	// conn is the connection the camera came on (room goroutine).
	conn Connection

	// Reader goroutines, under recvMu.
	recvMu sync.Mutex
	// layers are the camera's RTP streams; cur is the one decoded (nil:
	// none yet), want the one to switch to at its next keyframe (nil:
	// none). steered is when the layer was last reconsidered; downSince
	// when the tile started wanting a smaller layer than cur.
	layers       []*layer
	cur, want    *layer
	steered      time.Time
	downSince    time.Time
	readers      int  // layer readers running; the last unbinds the worker
	resetDecoder bool // the next frame decoded starts a new layer
	bitrateCap   bitrateCap
	needKey      bool
	// tooBig: the last key frame was larger than the input limits; its
	// frames are dropped until a key frame that fits.
	tooBig     bool
	lastLimit  time.Time // the last time the sender was told to shrink
	budgetFrom time.Time // start of the current decode-budget second
	limitLog   loglimit.Limiter

	// Decode worker (under decMu, which only Close contends for).
	decMu  sync.Mutex
	dec    codec.VideoDecoder
	closed bool
	errLog loglimit.Limiter

	// Shared.
	broken atomic.Bool // the decoder failed: wait for a keyframe
	// decodedTooBig: a picture decoded larger than the limits (its key
	// frame's header did not tell): treat the input as too big.
	decodedTooBig atomic.Bool
	// decodeTime is the time spent decoding since budgetFrom
	// (nanoseconds; added by the decode worker).
	decodeTime atomic.Int64
	failed     atomic.Bool  // a panic ended the input: its frames are dropped
	queued     atomic.Int32 // frames submitted and not yet decoded
	// delay is how long the participant's voice waits before it is mixed
	// (nanoseconds; the room sets it every tick): pictures are shown that
	// much late too, so lips and voice meet in the composite.
	delay atomic.Int64
	// wait is how long pictures take from their first packet's arrival to
	// being decoded (nanoseconds, a moving average; decode worker).
	wait atomic.Int64
	// tile is the size of the input's tile on the composite (width<<32 |
	// height; 0: not drawn yet): the decode worker scales pictures to fit
	// it, off the room tick. The room sets it every tick.
	tile atomic.Uint64
	mu   sync.Mutex
	// recent holds the last pictures decoded, oldest first: as far back as
	// the delay needs, and always the newest.
	recent []decoded

	packets, frames, keyframes, decoded atomic.Uint64
	// layerDropped: packets of layers not decoded; switches: changes of
	// the layer decoded.
	layerDropped, switches atomic.Uint64
	// capped is the bitrate the camera was last told to stay under
	// (bits per second; 0: none).
	capped atomic.Uint64
	// shown is the layer of the newest picture decoded (decode worker).
	shown                             atomic.Pointer[layer]
	decodeErrors, dropped, lost, plis atomic.Uint64
	// oversized: frames dropped for their size; budgetDrops: for the
	// input's decode time.
	oversized, budgetDrops atomic.Uint64
	// count is the manager's media counters (nil: an input made alone).
	count *counters
}

// oversizeBitrate is the bitrate a sender of pictures larger than the
// limits is told to stay under: enough for a 720p camera.
const oversizeBitrate = 1_500_000

// decoded is one picture of an input and when it was decoded; version
// tells it from every other picture of every input (see
// mixer.VideoSource.Version).
type decoded struct {
	f       *codec.Frame
	at      time.Time
	version uint64
}

// pictureVersions numbers decoded pictures, across inputs: an input
// that replaces another never repeats a number its tile was drawn with.
var pictureVersions atomic.Uint64

// maxRecent bounds the decoded pictures an input keeps for the lip-sync
// delay: 400 ms (maxPictureDelay and a margin) of 60 fps, and some.
const maxRecent = 32

// maxPictureDelay bounds the lip-sync delay of pictures (and so the
// pictures an input keeps): a voice that waits longer in its jitter buffer
// than this is out of sync by the rest.
const maxPictureDelay = 300 * time.Millisecond

// retransmitWait is how long a frame with a missing packet waits for the
// NACKed retransmission before it is given up.
const retransmitWait = 120 * time.Millisecond

// newDepacketizer makes a fresh depacketizer for one frame of a codec.
func newDepacketizer(codecName string) func() frames.Depacketizer {
	if codecName == CodecH264 {
		return func() frames.Depacketizer { return &codecs.H264Packet{} }
	}
	return func() frames.Depacketizer { return &codecs.VP8Packet{} }
}

// newVideoInput makes the input of a camera. With a sender, the camera
// sends one stream, the input's only layer; without, its simulcast
// layers are added as their tracks arrive (addLayer).
func newVideoInput(codecName string, w *decodeWorker, sender SenderFeedback, log *slog.Logger) *videoInput {
	in := &videoInput{codec: codecName, worker: w, log: log, needKey: true}
	if sender != nil {
		in.cur = in.addLayer("", sender)
	}
	return in
}

// addLayer adds a stream of the camera; it is not decoded before the
// input chooses it.
func (in *videoInput) addLayer(rid string, fb SenderFeedback) *layer {
	l := &layer{rid: rid, fb: fb, asm: frames.New(newDepacketizer(in.codec), retransmitWait)}
	in.recvMu.Lock()
	in.layers = append(in.layers, l)
	in.recvMu.Unlock()
	return l
}

// joins reports whether a new layer rid of a camera on conn belongs to
// this input (room goroutine): a layered input of the same connection and
// codec that has no layer of that name yet.
func (in *videoInput) joins(conn Connection, codecName, rid string) bool {
	if in.conn != conn || in.codec != codecName || in.failed.Load() {
		return false
	}
	in.recvMu.Lock()
	defer in.recvMu.Unlock()
	if len(in.layers) == 0 || in.layers[0].rid == "" {
		return false
	}
	for _, l := range in.layers {
		if l.rid == rid {
			return false
		}
	}
	return true
}

// readLayer reads a layer's track until it ends.
func (in *videoInput) readLayer(l *layer, src RTPReader) {
	defer l.ended.Store(true)
	in.recvMu.Lock()
	in.layerKeyframe(l, time.Now()) // its size, and a start for whichever is chosen
	in.recvMu.Unlock()
	for {
		pkt, err := src.ReadRTP()
		if err != nil {
			return
		}
		in.receiveLayer(l, pkt, time.Now())
	}
}

// receive takes one RTP packet of the input's first layer.
func (in *videoInput) receive(pkt *rtp.Packet, now time.Time) {
	in.receiveLayer(in.layers[0], pkt, now)
}

// receiveLayer takes one RTP packet of layer l (its reader goroutine):
// a packet of the layer decoded, or of the one the input is switching
// to, goes into the layer's frame assembler, and every frame that
// completes goes on to decode; other layers' packets are dropped.
func (in *videoInput) receiveLayer(l *layer, pkt *rtp.Packet, now time.Time) {
	in.packets.Add(1)
	l.last.Store(now.UnixNano())
	if w, h, ok := packetPictureSize(in.codec, pkt.Payload); ok {
		l.size.Store(uint64(w)<<32 | uint64(h))
	}
	in.recvMu.Lock()
	defer in.recvMu.Unlock()
	in.steer(now)
	in.capBitrate(now)
	if l != in.cur && l != in.want {
		in.layerDropped.Add(1)
		if in.count != nil {
			in.count.layerDropped.Add(1)
		}
		return
	}
	l.asm.Push(pkt, now)
	for {
		data, lost, ok := l.asm.Pop(now)
		if !ok {
			return
		}
		if l == in.want {
			if !isKeyframe(in.codec, data) {
				in.layerKeyframe(l, now)
				continue
			}
			in.switchTo(l)
		}
		if l != in.cur {
			continue
		}
		in.frame(data, lost, l.asm.Arrived(), now)
	}
}

// frame handles one assembled frame: frames that cannot be decoded (after
// a loss or a decoder failure, until the next keyframe) are dropped and a
// keyframe is requested.
func (in *videoInput) frame(data []byte, lostBefore bool, arrived, now time.Time) {
	in.frames.Add(1)
	if in.failed.Load() {
		in.dropped.Add(1)
		return
	}
	if lostBefore {
		in.lost.Add(1)
		in.needKey = true
	}
	if in.broken.Swap(false) {
		in.needKey = true
	}
	if in.decodedTooBig.Swap(false) {
		in.tooBig = true
	}
	key := isKeyframe(in.codec, data)
	if key {
		in.keyframes.Add(1)
		if w, h, ok := pictureSize(in.codec, data); ok {
			in.tooBig = !in.worker.limits.fits(w, h)
			if in.tooBig {
				in.limitLog.Warn(in.log, "video input larger than allowed; its frames are dropped",
					"codec", in.codec, "width", w, "height", h,
					"max_width", in.worker.limits.MaxWidth, "max_height", in.worker.limits.MaxHeight, "dropped", in.oversized.Load())
			}
		}
	}
	if in.tooBig {
		in.oversized.Add(1)
		in.needKey = true
		in.askToShrink(now)
		return
	}
	if in.overBudget(now) {
		// Frames are skipped: decoding resumes at a keyframe, asked for
		// once the budget allows it again.
		in.budgetDrops.Add(1)
		in.needKey = true
		return
	}
	if key {
		in.needKey = false
	}
	if in.needKey {
		in.requestKeyframe(now)
		return
	}
	// One input may hold only a few places in its worker's queue, so a
	// camera the worker cannot keep up with (a huge picture, a flood of
	// frames) loses its own frames, not its neighbours'.
	if in.queued.Add(1) > maxQueuedPerInput ||
		!in.worker.submit(decodeJob{in: in, data: data, arrived: arrived, layer: in.cur, reset: in.resetDecoder}) {
		in.queued.Add(-1)
		in.dropped.Add(1)
		in.needKey = true
		in.requestKeyframe(now)
		return
	}
	in.resetDecoder = false
}

// maxQueuedPerInput bounds the frames of one input waiting for (or in)
// decode: at 30 fps, 100 ms of pictures.
const maxQueuedPerInput = 3

// requestKeyframe asks the layer decoded for a keyframe.
func (in *videoInput) requestKeyframe(now time.Time) { in.layerKeyframe(in.cur, now) }

// askToShrink tells a sender of pictures larger than the limits to lower
// its bitrate (and with it, a browser lowers its resolution) and asks for
// a keyframe at the new size; at most once a second.
func (in *videoInput) askToShrink(now time.Time) {
	if now.Sub(in.lastLimit) < time.Second {
		return
	}
	in.lastLimit = now
	if in.cur != nil {
		_ = in.cur.fb.LimitBitrate(oversizeBitrate)
	}
	in.requestKeyframe(now)
}

// overBudget reports whether the input has used its decode budget for
// the current second (reader goroutine).
func (in *videoInput) overBudget(now time.Time) bool {
	if now.Sub(in.budgetFrom) >= time.Second {
		in.budgetFrom = now
		in.decodeTime.Store(0)
	}
	return in.decodeTime.Load() > int64(in.worker.limits.DecodeBudget*float64(time.Second))
}

// pictureSize reads the size of a key frame's pictures from its headers
// (VP8 frame header, H.264 sequence parameter set); ok is false when they
// do not say.
func pictureSize(codecName string, data []byte) (w, h int, ok bool) {
	if codecName == CodecH264 {
		return nal.PictureSize(data)
	}
	return vp8.KeyframeSize(data)
}

// isKeyframe tells whether an assembled frame starts a decodable sequence.
func isKeyframe(codecName string, data []byte) bool {
	if codecName == CodecH264 {
		return h264.ContainsIDR(data)
	}
	// VP8 frame tag: bit 0 of the first byte is 0 for a key frame
	// (RFC 6386, section 9.1).
	return len(data) >= 3 && data[0]&1 == 0
}

// decode runs on the input's decode worker. reset starts a new decoder
// (the frame is a keyframe of another layer than the last one's).
func (in *videoInput) decode(data []byte, arrived time.Time, l *layer, reset bool, frames *codec.FramePool) {
	defer in.queued.Add(-1)
	in.decMu.Lock()
	defer in.decMu.Unlock()
	if in.closed || in.failed.Load() {
		return // frames queued before the input ended
	}
	runHook(&testHooks.decode, in)
	if reset && in.dec != nil {
		in.dec.Close()
		in.dec = nil
	}
	if in.dec == nil {
		var err error
		if in.codec == CodecH264 {
			in.dec, err = h264.NewDecoder(frames)
		} else {
			in.dec, err = vp8.NewDecoder(frames)
		}
		if err != nil {
			in.log.Error("cannot create video decoder", "codec", in.codec, "err", err)
			return
		}
	}
	start := time.Now()
	f, err := in.dec.Decode(data)
	in.decodeTime.Add(int64(time.Since(start)))
	if err != nil {
		n := in.decodeErrors.Add(1)
		if in.count != nil {
			in.count.videoDecodeErrors.Add(1)
		}
		in.broken.Store(true)
		in.errLog.Warn(in.log, "video decode errors", "codec", in.codec, "err", err, "errors", n)
		return
	}
	if f == nil {
		return
	}
	if !in.worker.limits.fits(f.Width, f.Height) {
		// Larger than its key frame's header said: dropped, and the input
		// is treated as too big from its next frame on.
		f.Release()
		in.decodedTooBig.Store(true)
		return
	}
	if f, err = in.fitTile(f, frames); err != nil {
		in.errLog.Warn(in.log, "cannot scale a picture to its tile", "err", err)
		return
	}
	in.shown.Store(l)
	in.decodeDone(f)
	// How long pictures take from their first packet to the compositor:
	// waits for retransmissions included (a moving average).
	if !arrived.IsZero() {
		w := float64(time.Since(arrived))
		in.wait.Store(int64(float64(in.wait.Load()) + (w-float64(in.wait.Load()))*0.1))
	}
}

// setTile tells the decode worker the size of the input's tile.
func (in *videoInput) setTile(w, h int) { in.tile.Store(uint64(w)<<32 | uint64(h)) }

// fitTile returns the picture scaled to the size it takes in the input's
// tile (and releases f), or f itself when it has that size already or
// the tile is not known yet. Scaling here, on the decode workers, keeps
// it off the room tick and in parallel; it is done once per picture
// decoded, whichever outputs the composite has.
func (in *videoInput) fitTile(f *codec.Frame, frames *codec.FramePool) (*codec.Frame, error) {
	t := in.tile.Load()
	if t == 0 {
		return f, nil
	}
	w, h := mixer.FitSize(int(t>>32), int(t&0xffffffff), f.Width, f.Height)
	if w == f.Width && h == f.Height {
		return f, nil
	}
	g := frames.Get(w, h)
	err := yuv.Scale(g, f, yuv.Bilinear)
	f.Release()
	if err != nil {
		g.Release()
		return nil, err
	}
	return g, nil
}

// decodeDone keeps a freshly decoded picture (decode worker).
func (in *videoInput) decodeDone(f *codec.Frame) {
	in.decoded.Add(1)
	now := time.Now()
	// Keep what a delay of up to the current one plus a frame interval of
	// margin can ask for (it changes slowly).
	keep := now.Add(-time.Duration(in.delay.Load()) - 100*time.Millisecond)
	for _, f := range in.keep(decoded{f, now, pictureVersions.Add(1)}, keep) {
		f.Release()
	}
}

// keep adds a picture to the recent ones and returns those older than
// keep that are no longer needed (always keeping the newest).
func (in *videoInput) keep(d decoded, keep time.Time) (drop []*codec.Frame) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.recent = append(in.recent, d)
	n := 0
	// Beyond maxRecent, the oldest go whatever their age: a sender of
	// many small frames a second must not make the input hold hundreds
	// of decoded pictures.
	for n < len(in.recent)-1 && (in.recent[n+1].at.Before(keep) || len(in.recent)-n > maxRecent) {
		drop = append(drop, in.recent[n].f)
		n++
	}
	if n > 0 {
		in.recent = in.recent[:copy(in.recent, in.recent[n:])]
	}
	return drop
}

// fail ends the input after a panic in its decode: its frames are
// dropped from now on and its decoder, whose state is unknown, is freed.
// It runs on the decode worker, after the panicking decode let go of
// decMu.
func (in *videoInput) fail(err error) {
	in.failed.Store(true)
	in.log.Error("video input ended by an internal error", "err", err)
	in.decMu.Lock()
	defer in.decMu.Unlock()
	dec := in.dec
	in.dec = nil
	if dec != nil {
		// Freeing a decoder in an unknown state may panic too: that
		// costs the decoder's memory, not the worker.
		defer func() { _ = recover() }()
		dec.Close()
	}
}

// setPictureDelay makes the input's pictures shown d late (so that they
// meet the voice, which waits that much longer in its jitter buffer).
func (in *videoInput) setPictureDelay(d time.Duration) { in.delay.Store(int64(d)) }

// lastDecoded is when the newest picture was decoded (zero: none yet).
func (in *videoInput) lastDecoded() time.Time {
	in.mu.Lock()
	defer in.mu.Unlock()
	if n := len(in.recent); n > 0 {
		return in.recent[n-1].at
	}
	return time.Time{}
}

// snapshot returns the picture to show at now (retained; the caller
// releases it) and its version: the newest one decoded at least the
// input's delay ago, or the oldest kept if none is that old. newest is
// when the newest picture was decoded (zero if none), to tell a stalled
// camera.
func (in *videoInput) snapshot(now time.Time) (f *codec.Frame, version uint64, newest time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := len(in.recent)
	if n == 0 {
		return nil, 0, time.Time{}
	}
	due := now.Add(-time.Duration(in.delay.Load()))
	pick := in.recent[0]
	for _, d := range in.recent[1:] {
		if d.at.After(due) {
			break
		}
		pick = d
	}
	pick.f.Retain()
	return pick.f, pick.version, in.recent[n-1].at
}

// close frees the decoder and the last picture.
func (in *videoInput) close() {
	in.decMu.Lock()
	in.closed = true
	if in.dec != nil {
		in.dec.Close()
		in.dec = nil
	}
	in.decMu.Unlock()
	in.mu.Lock()
	for _, d := range in.recent {
		d.f.Release()
	}
	in.recent = nil
	in.mu.Unlock()
}
