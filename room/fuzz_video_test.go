package room

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/h264"
	"github.com/tessera-mcu/tessera/codec/vp8"
)

// videoFuzzFrames are real encoded pictures to build fuzzed streams from:
// for each codec a keyframe and the delta frames that follow it, of a
// small moving picture; under the codec's name followed by "/q", the same
// at a smaller size, for a simulcast camera's small layer.
var videoFuzzFrames = sync.OnceValue(func() map[string][][]byte {
	out := map[string][][]byte{}
	for _, v := range []struct {
		suffix string
		w, h   int
	}{{"", 176, 144}, {"/q", 96, 80}} {
		for name, pics := range encodeFuzzFrames(v.w, v.h) {
			out[name+v.suffix] = pics
		}
	}
	return out
})

func encodeFuzzFrames(w, h int) map[string][][]byte {
	const n = 6
	out := map[string][][]byte{}
	for _, name := range []string{CodecVP8, CodecH264} {
		var enc codec.VideoEncoder
		var err error
		if name == CodecVP8 {
			enc, err = vp8.NewEncoder(vp8.EncoderConfig{Width: w, Height: h, FPS: 30})
		} else {
			enc, err = h264.NewEncoder(h264.EncoderConfig{Width: w, Height: h, FPS: 30})
		}
		if err != nil {
			panic(err)
		}
		f := codec.NewFrame(w, h)
		for i := range n {
			for y := range h {
				for x := range w {
					f.Y[y*w+x] = byte(x*3 + y + i*9)
				}
			}
			pkt, err := enc.Encode(f)
			if err != nil || len(pkt.Data) == 0 {
				panic(err)
			}
			out[name] = append(out[name], append([]byte(nil), pkt.Data...))
		}
		enc.Close()
	}
	return out
}

// FuzzVideoIngest drives a camera's whole ingest path as it runs: real
// VP8 and H.264 pictures are packetized at a fuzzed MTU, their packets
// dropped, duplicated, reordered, corrupted, their sequence numbers and
// timestamps jumped, then fed to the input as the network reader does:
// frame assembly, keyframe gating, the decode worker's decode. Nothing may
// panic, the input keeps a bounded number of pictures, and a clean
// stream after whatever came before decodes again. With bit 1 of the first
// byte set, the camera is a simulcast one of two layers of different
// sizes: pictures go to either layer, and the tile the room draws it in
// changes size, so the input switches layers in the middle of it all.
func FuzzVideoIngest(f *testing.F) {
	videoFuzzFrames()
	clean := func(vp8 bool) []byte {
		c := byte(0)
		if vp8 {
			c = 1
		}
		out := []byte{c}
		for i := range 6 {
			out = append(out, 1, byte(i), 40, 0, 0)
		}
		return out
	}
	f.Add(clean(true))
	f.Add(clean(false))
	f.Add([]byte{1, 1, 0, 10, 1, 3, 1, 1, 0, 2, 2, 0, 1, 2, 0, 4, 1, 0, 0, 1, 3, 0, 8, 5})
	f.Add([]byte{0, 1, 0, 0, 0x10, 0, 1, 1, 0xff, 0x40, 1, 1, 2, 3, 0x80, 2, 1, 4, 5, 6, 0x08, 7})
	f.Add(append([]byte{2}, clean(false)[1:]...))
	f.Add([]byte{3, 1, 0, 40, 0x80, 0, 1, 1, 40, 0, 0, 0, 3, 1, 0, 0, 1, 2, 40, 0x80, 0, 0, 0, 2, 0, 0, 1, 3, 40, 0x81, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) == 0 {
			return
		}
		name := CodecH264
		if ops[0]&1 == 1 {
			name = CodecVP8
		}
		var small [][]byte // the small layer's pictures, for a simulcast camera
		if ops[0]&2 != 0 {
			small = videoFuzzFrames()[name+"/q"]
		}
		runVideoFuzz(t, name, videoFuzzFrames()[name], small, ops[1:])
	})
}

// nopFeedback is a sender that ignores what it is told.
type nopFeedback struct{}

func (nopFeedback) RequestKeyframe() error    { return nil }
func (nopFeedback) LimitBitrate(uint64) error { return nil }

// videoFuzzOp is the size of one frame operation: op, picture, MTU step,
// flags, and an argument for the flags.
const videoFuzzOp = 5

func runVideoFuzz(t *testing.T, name string, pictures, small [][]byte, ops []byte) {
	var (
		in *videoInput
		w  *decodeWorker
	)
	// A stream of the camera: a layer, with its own numbering.
	type stream struct {
		l    *layer
		pics [][]byte
		seq  uint16
		ts   uint32
		ssrc uint32
	}
	var streams []*stream
	if small == nil {
		s := newSyncInput(t, name, InputLimits{}, nopFeedback{})
		in, w = s.videoInput, s.w
		streams = []*stream{{l: in.layers[0], pics: pictures}}
	} else {
		var limits InputLimits
		if err := limits.setDefaults(); err != nil {
			t.Fatal(err)
		}
		w = &decodeWorker{jobs: make(chan decodeJob, decodeQueueLen), frames: codec.NewFramePool(16), limits: limits}
		in = newVideoInput(name, w, nil, testLogger(t))
		t.Cleanup(in.close)
		streams = []*stream{{l: in.addLayer("q", nopFeedback{}), pics: small}, {l: in.addLayer("f", nopFeedback{}), pics: pictures}}
	}
	for i, st := range streams {
		st.seq, st.ts, st.ssrc = 65000-uint16(i)*7000, 0xfffff000, 5+uint32(i)*100
	}
	log := in.log
	now := time.Unix(1000, 0)
	cur := streams[0]
	feed := func(p *rtp.Packet) {
		in.receiveLayer(cur.l, p, now)
		for len(w.jobs) > 0 {
			w.decode(<-w.jobs, log)
		}
		in.mu.Lock()
		kept := len(in.recent)
		in.mu.Unlock()
		if kept > maxRecent {
			t.Fatalf("input keeps %d pictures", kept)
		}
	}
	packetize := func(pic []byte, mtu uint16) [][]byte {
		if name == CodecVP8 {
			return (&codecs.VP8Payloader{}).Payload(mtu, pic)
		}
		return (&codecs.H264Payloader{}).Payload(mtu, pic)
	}
	send := func(pic int, mtu uint16, flags, arg byte) {
		payloads := packetize(cur.pics[pic%len(cur.pics)], mtu)
		if len(payloads) == 0 {
			return
		}
		if flags&0x10 != 0 {
			cur.seq += uint16(arg) << 8 // a jump
		}
		if flags&0x20 == 0 {
			cur.ts += 3000
		}
		pkts := make([]*rtp.Packet, 0, len(payloads)+1)
		for i, pl := range payloads {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: cur.seq, Timestamp: cur.ts, SSRC: cur.ssrc,
				Marker: i == len(payloads)-1 && flags&0x40 == 0}, Payload: append([]byte(nil), pl...)}
			cur.seq++
			pkts = append(pkts, p)
		}
		k := int(arg) % len(pkts)
		if flags&0x01 != 0 { // lose one
			pkts = append(pkts[:k], pkts[k+1:]...)
		}
		if flags&0x02 != 0 && len(pkts) > 0 { // duplicate one
			pkts = append(pkts, pkts[k%len(pkts)])
		}
		if flags&0x04 != 0 && len(pkts) > 1 { // reorder
			pkts[0], pkts[len(pkts)-1] = pkts[len(pkts)-1], pkts[0]
		}
		if flags&0x08 != 0 && len(pkts) > 0 { // corrupt a byte
			p := pkts[k%len(pkts)]
			if len(p.Payload) > 0 {
				p.Payload[int(arg)%len(p.Payload)] ^= arg | 1
			}
		}
		if flags&0x80 != 0 {
			cur.ssrc++
		}
		for _, p := range pkts {
			feed(p)
		}
	}
	for i := 0; i+videoFuzzOp <= len(ops); i += videoFuzzOp {
		op, pic, mtu, flags, arg := ops[i], ops[i+1], ops[i+2], ops[i+3], ops[i+4]
		// On a simulcast camera, the stream of the operation: the small
		// layer or the full one.
		cur = streams[int(pic>>7)%len(streams)]
		switch op % 3 {
		case 0: // time passes: frames with missing packets are given up
			now = now.Add(time.Duration(mtu) * 5 * time.Millisecond)
			if flags&1 != 0 { // and the tile changes size
				in.setTile(48+int(arg)*2, 40+int(arg))
			}
		case 1: // a picture
			send(int(pic), 60+uint16(mtu)*8, flags, arg)
			now = now.Add(33 * time.Millisecond)
		case 2: // a packet of the fuzzer's own bytes
			end := min(i+videoFuzzOp+int(mtu), len(ops))
			feed(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: cur.seq, Timestamp: cur.ts, SSRC: cur.ssrc,
				Marker: flags&1 != 0}, Payload: append([]byte(nil), ops[i+videoFuzzOp:end]...)})
			cur.seq++
			i = end - videoFuzzOp
		}
	}
	// Whatever came before, a clean stream is decoded again within two
	// keyframes: the first may be needed to resynchronise the assembler.
	// A simulcast camera sends both layers at once, as browsers do, for
	// longer than a layer switch may wait.
	before := in.decoded.Load()
	now = now.Add(time.Second)
	for range 2 {
		for pic := range pictures {
			for _, st := range streams {
				cur = st
				send(pic, 1200, 0, 0)
			}
			now = now.Add(33 * time.Millisecond)
		}
		now = now.Add(layerDownHold)
	}
	if in.decoded.Load() == before {
		a := in.layers[0].asm
		t.Fatalf("a clean keyframe after the fuzzed stream was not decoded: assembler %d frames, %d dropped, %d late, %d duplicates; input %d frames, %d keyframes, %d decode errors, %d dropped",
			a.Frames, a.Dropped, a.Late, a.Duplicates, in.frames.Load(), in.keyframes.Load(), in.decodeErrors.Load(), in.dropped.Load())
	}
}
