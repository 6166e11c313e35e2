package room

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/h264"
	"github.com/tessera-mcu/tessera/codec/vp8"
	"github.com/tessera-mcu/tessera/room/frames"
)

// pliInterval is the shortest time between two keyframe requests to one
// sender.
const pliInterval = 500 * time.Millisecond

// videoInput is one participant's camera on its way into the composite.
// The network reader goroutine assembles frames and gates them on
// keyframes; a decode worker decodes them; the room tick takes the latest
// picture.
type videoInput struct {
	codec  string
	worker *decodeWorker
	log    *slog.Logger
	pli    func() error

	// Reader goroutine only.
	asm     *frames.Assembler
	needKey bool
	lastPLI time.Time

	// Decode worker (under decMu, which only Close contends for).
	decMu  sync.Mutex
	dec    codec.VideoDecoder
	closed bool
	errLog logLimiter

	// Shared.
	broken atomic.Bool  // the decoder failed: wait for a keyframe
	queued atomic.Int32 // frames submitted and not yet decoded
	mu     sync.Mutex
	latest *codec.Frame
	at     time.Time

	packets, frames, keyframes, decoded atomic.Uint64
	decodeErrors, dropped, lost, plis   atomic.Uint64
}

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

func newVideoInput(codecName string, w *decodeWorker, pli func() error, log *slog.Logger) *videoInput {
	return &videoInput{
		codec: codecName, worker: w, pli: pli, log: log,
		asm:     frames.New(newDepacketizer(codecName), retransmitWait),
		needKey: true,
	}
}

// read assembles frames from the track until it ends.
func (in *videoInput) read(track *webrtc.TrackRemote) {
	in.requestKeyframe(time.Now())
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		in.packets.Add(1)
		now := time.Now()
		in.asm.Push(pkt, now)
		for {
			data, lost, ok := in.asm.Pop(now)
			if !ok {
				break
			}
			in.frame(data, lost)
		}
	}
}

// frame handles one assembled frame: frames that cannot be decoded (after
// a loss or a decoder failure, until the next keyframe) are dropped and a
// keyframe is requested.
func (in *videoInput) frame(data []byte, lostBefore bool) {
	now := time.Now()
	in.frames.Add(1)
	if lostBefore {
		in.lost.Add(1)
		in.needKey = true
	}
	if in.broken.Swap(false) {
		in.needKey = true
	}
	key := isKeyframe(in.codec, data)
	if key {
		in.keyframes.Add(1)
		in.needKey = false
	}
	if in.needKey {
		in.requestKeyframe(now)
		return
	}
	// One input may hold only a few places in its worker's queue, so a
	// camera the worker cannot keep up with (a huge picture, a flood of
	// frames) loses its own frames, not its neighbours'.
	if in.queued.Add(1) > maxQueuedPerInput || !in.worker.submit(decodeJob{in: in, data: data}) {
		in.queued.Add(-1)
		in.dropped.Add(1)
		in.needKey = true
		in.requestKeyframe(now)
	}
}

// maxQueuedPerInput bounds the frames of one input waiting for (or in)
// decode: at 30 fps, 100 ms of pictures.
const maxQueuedPerInput = 3

func (in *videoInput) requestKeyframe(now time.Time) {
	if now.Sub(in.lastPLI) < pliInterval {
		return
	}
	in.lastPLI = now
	if err := in.pli(); err == nil {
		in.plis.Add(1)
	}
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

// decode runs on the input's decode worker.
func (in *videoInput) decode(data []byte, frames *codec.FramePool) {
	defer in.queued.Add(-1)
	in.decMu.Lock()
	defer in.decMu.Unlock()
	if in.closed {
		return
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
	f, err := in.dec.Decode(data)
	if err != nil {
		n := in.decodeErrors.Add(1)
		in.broken.Store(true)
		in.errLog.warn(in.log, "video decode errors", "codec", in.codec, "err", err, "errors", n)
		return
	}
	if f == nil {
		return
	}
	in.decoded.Add(1)
	in.mu.Lock()
	old := in.latest
	in.latest, in.at = f, time.Now()
	in.mu.Unlock()
	if old != nil {
		old.Release()
	}
}

// snapshot returns the latest picture (retained; the caller releases it)
// and when it was decoded.
func (in *videoInput) snapshot() (*codec.Frame, time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.latest != nil {
		in.latest.Retain()
	}
	return in.latest, in.at
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
	if in.latest != nil {
		in.latest.Release()
		in.latest = nil
	}
	in.mu.Unlock()
}

// sendPLI returns a function that asks the sender of track for a keyframe.
func sendPLI(pc *webrtc.PeerConnection, track *webrtc.TrackRemote) func() error {
	return func() error {
		return pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(track.SSRC())}})
	}
}
