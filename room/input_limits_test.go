package room

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/h264"
	"github.com/tessera-mcu/tessera/codec/vp8"
	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room/rtc"
)

// recordingFeedback counts what an input tells its sender.
type recordingFeedback struct {
	plis, rembs atomic.Int32
	bps         atomic.Uint64
}

func (f *recordingFeedback) RequestKeyframe() error { f.plis.Add(1); return nil }
func (f *recordingFeedback) LimitBitrate(bps uint64) error {
	f.rembs.Add(1)
	f.bps.Store(bps)
	return nil
}

// syncInput is a video input whose decodes run on the caller's goroutine.
type syncInput struct {
	*videoInput
	w   *decodeWorker
	seq uint16
	ts  uint32
}

func newSyncInput(t *testing.T, name string, limits InputLimits, fb SenderFeedback) *syncInput {
	t.Helper()
	if err := limits.setDefaults(); err != nil {
		t.Fatal(err)
	}
	w := &decodeWorker{jobs: make(chan decodeJob, decodeQueueLen), frames: codec.NewFramePool(16), limits: limits}
	in := newVideoInput(name, w, fb, testLogger(t))
	t.Cleanup(in.close)
	return &syncInput{videoInput: in, w: w}
}

// send packetizes one encoded picture and feeds it in at now.
func (s *syncInput) send(pic []byte, now time.Time) {
	var payloads [][]byte
	if s.codec == CodecVP8 {
		payloads = (&codecs.VP8Payloader{}).Payload(1200, pic)
	} else {
		payloads = (&codecs.H264Payloader{}).Payload(1200, pic)
	}
	s.ts += 3000
	for i, pl := range payloads {
		s.receive(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: s.seq, Timestamp: s.ts, SSRC: 1,
			Marker: i == len(payloads)-1}, Payload: pl}, now)
		s.seq++
	}
	for len(s.w.jobs) > 0 {
		s.w.decode(<-s.w.jobs, s.log)
	}
}

// encodeStream encodes n pictures of w x h with a keyframe first.
func encodeStream(t *testing.T, name string, w, h, n int) [][]byte {
	t.Helper()
	var enc codec.VideoEncoder
	var err error
	if name == CodecVP8 {
		enc, err = vp8.NewEncoder(vp8.EncoderConfig{Width: w, Height: h, FPS: 30})
	} else {
		enc, err = h264.NewEncoder(h264.EncoderConfig{Width: w, Height: h, FPS: 30})
	}
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	f := codec.NewFrame(w, h)
	var out [][]byte
	for i := range n {
		f.Fill(codec.RGB(byte(40*i), 100, 200))
		p, err := enc.Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), p.Data...))
	}
	return out
}

// Pictures larger than the input limits are dropped before they are
// decoded (their key frame's header says so), counted, and the sender is
// told to lower its bitrate and asked for a keyframe; pictures that fit,
// in either orientation, decode. Both codecs.
func TestOversizedInputDroppedBeforeDecode(t *testing.T) {
	limits := InputLimits{MaxWidth: 640, MaxHeight: 360}
	for _, name := range []string{CodecVP8, CodecH264} {
		t.Run(name, func(t *testing.T) {
			fb := &recordingFeedback{}
			in := newSyncInput(t, name, limits, fb)
			now := time.Unix(100, 0)
			for _, pic := range encodeStream(t, name, 1280, 720, 10) {
				in.send(pic, now)
				now = now.Add(100 * time.Millisecond)
			}
			if in.decoded.Load() != 0 || in.decodeTime.Load() != 0 || in.oversized.Load() != 10 {
				t.Fatalf("1280x720 over a 640x360 limit: %d decoded, %v decoding, %d counted oversized",
					in.decoded.Load(), time.Duration(in.decodeTime.Load()), in.oversized.Load())
			}
			if fb.rembs.Load() == 0 || fb.bps.Load() != oversizeBitrate || fb.plis.Load() == 0 {
				t.Fatalf("sender told %d REMBs (%d bps), %d PLIs", fb.rembs.Load(), fb.bps.Load(), fb.plis.Load())
			}
			// The sender shrinks: a portrait picture within the limits
			// decodes from its next keyframe.
			for _, pic := range encodeStream(t, name, 352, 640, 5) {
				in.send(pic, now)
				now = now.Add(100 * time.Millisecond)
			}
			if in.decoded.Load() != 5 {
				t.Fatalf("352x640 portrait within 640x360 (turned): %d of 5 decoded", in.decoded.Load())
			}
		})
	}
}

// A VP8 key frame header that claims a huge picture (the attack: a
// header alternating to 4096x2304) costs nothing: the frame is dropped
// unread by the decoder.
func TestHugeVP8HeaderCostsNoDecode(t *testing.T) {
	in := newSyncInput(t, CodecVP8, InputLimits{}, &recordingFeedback{})
	pics := encodeStream(t, CodecVP8, 320, 180, 2)
	huge := append([]byte(nil), pics[0]...)
	huge[6], huge[7], huge[8], huge[9] = 4096&0xff, 4096>>8, 2304&0xff, 2304>>8
	now := time.Unix(100, 0)
	for range 30 {
		in.send(huge, now)
		now = now.Add(33 * time.Millisecond)
	}
	if in.decodeTime.Load() != 0 || in.oversized.Load() != 30 {
		t.Fatalf("30 frames claiming 4096x2304: %v decoding, %d oversized", time.Duration(in.decodeTime.Load()), in.oversized.Load())
	}
	in.send(pics[0], now)
	if in.decoded.Load() != 1 {
		t.Fatal("a 320x180 key frame after the huge ones did not decode")
	}
}

// An input that spends more than its decode budget has its frames
// dropped for the rest of that second and counted; it decodes again from
// a keyframe in the next second.
func TestDecodeBudget(t *testing.T) {
	fb := &recordingFeedback{}
	in := newSyncInput(t, CodecH264, InputLimits{DecodeBudget: 0.000001}, fb) // 1 µs a second
	pics := encodeStream(t, CodecH264, 320, 180, 30)
	now := time.Unix(100, 0)
	for _, pic := range pics {
		in.send(pic, now)
		now = now.Add(10 * time.Millisecond) // 30 frames within 0.3 s
	}
	if in.decoded.Load() != 1 || in.budgetDrops.Load() != 29 {
		t.Fatalf("within one second over budget: %d decoded, %d dropped", in.decoded.Load(), in.budgetDrops.Load())
	}
	plis := fb.plis.Load()
	now = now.Add(time.Second)
	in.send(pics[1], now) // a delta frame: a keyframe is asked for
	if fb.plis.Load() != plis+1 {
		t.Fatal("no keyframe asked for when the budget allowed decoding again")
	}
	in.send(pics[0], now.Add(10*time.Millisecond))
	if in.decoded.Load() != 2 {
		t.Fatalf("the keyframe of the next second was not decoded: %d", in.decoded.Load())
	}
}

// Over WebRTC: a camera larger than the server's input limit gets no
// picture into the composite, is counted and told; a camera within it
// shows, and the room goes on.
func TestOversizedCameraOverWebRTC(t *testing.T) {
	m := newManagerWith(t, rtc.EngineConfig{BindIP: "127.0.0.1", DisableTCP: true},
		ManagerConfig{Workers: 2, Inputs: InputLimits{MaxWidth: 400, MaxHeight: 240}})
	r, err := m.Create(Config{Video: VideoConfig{Tiers: []Tier{{1280, 720, 1_500_000}}}})
	if err != nil {
		t.Fatal(err)
	}
	small := join(t, r, "small", testpeer.Options{Video: "vp8", VideoColor: green, SendOnly: true})
	big := join(t, r, "big", testpeer.Options{Video: "vp8", VideoColor: red, VideoWidth: 640, VideoHeight: 360, SendOnly: true})
	viewer := join(t, r, "viewer", testpeer.Options{Video: "vp8", RecvOnly: true})
	if err := compositeShows(t, r, viewer.peer, map[ParticipantID]codec.YUV{small.id: green}, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	st, err := r.Stats(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range st.VideoInputs {
		switch in.Participant {
		case big.id:
			if in.Decoded != 0 || in.Oversized == 0 || in.PLIs == 0 {
				t.Errorf("640x360 camera over a 400x240 limit: %+v", in)
			}
		case small.id:
			if in.Decoded == 0 || in.Oversized != 0 {
				t.Errorf("320x180 camera: %+v", in)
			}
		}
	}
}
