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
// small moving picture.
var videoFuzzFrames = sync.OnceValue(func() map[string][][]byte {
	const w, h, n = 176, 144, 6
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
})

// FuzzVideoIngest drives a camera's whole ingest path as it runs: real
// VP8 and H.264 pictures are packetized at a fuzzed MTU, their packets
// dropped, duplicated, reordered, corrupted, their sequence numbers and
// timestamps jumped, then fed to the input as the network reader does:
// frame assembly, keyframe gating, the decode worker's decode. Nothing may
// panic, the input keeps a bounded number of pictures, and a clean
// stream after whatever came before decodes again.
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
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) == 0 {
			return
		}
		name := CodecH264
		if ops[0]&1 == 1 {
			name = CodecVP8
		}
		runVideoFuzz(t, name, videoFuzzFrames()[name], ops[1:])
	})
}

// nopFeedback is a sender that ignores what it is told.
type nopFeedback struct{}

func (nopFeedback) RequestKeyframe() error    { return nil }
func (nopFeedback) LimitBitrate(uint64) error { return nil }

// videoFuzzOp is the size of one frame operation: op, picture, MTU step,
// flags, and an argument for the flags.
const videoFuzzOp = 5

func runVideoFuzz(t *testing.T, name string, pictures [][]byte, ops []byte) {
	sync := newSyncInput(t, name, InputLimits{}, nopFeedback{})
	in, w, log := sync.videoInput, sync.w, sync.log
	now := time.Unix(1000, 0)
	var (
		seq  uint16 = 65000
		ts   uint32 = 0xfffff000
		ssrc uint32 = 5
	)
	feed := func(p *rtp.Packet) {
		in.receive(p, now)
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
	send := func(pic []byte, mtu uint16, flags, arg byte) {
		payloads := packetize(pic, mtu)
		if len(payloads) == 0 {
			return
		}
		if flags&0x10 != 0 {
			seq += uint16(arg) << 8 // a jump
		}
		if flags&0x20 == 0 {
			ts += 3000
		}
		pkts := make([]*rtp.Packet, 0, len(payloads)+1)
		for i, pl := range payloads {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc,
				Marker: i == len(payloads)-1 && flags&0x40 == 0}, Payload: append([]byte(nil), pl...)}
			seq++
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
			ssrc++
		}
		for _, p := range pkts {
			feed(p)
		}
	}
	for i := 0; i+videoFuzzOp <= len(ops); i += videoFuzzOp {
		op, pic, mtu, flags, arg := ops[i], ops[i+1], ops[i+2], ops[i+3], ops[i+4]
		switch op % 3 {
		case 0: // time passes: frames with missing packets are given up
			now = now.Add(time.Duration(mtu) * 5 * time.Millisecond)
		case 1: // a picture
			send(pictures[int(pic)%len(pictures)], 60+uint16(mtu)*8, flags, arg)
			now = now.Add(33 * time.Millisecond)
		case 2: // a packet of the fuzzer's own bytes
			end := min(i+videoFuzzOp+int(mtu), len(ops))
			feed(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc,
				Marker: flags&1 != 0}, Payload: append([]byte(nil), ops[i+videoFuzzOp:end]...)})
			seq++
			i = end - videoFuzzOp
		}
	}
	// Whatever came before, a clean stream is decoded again within two
	// keyframes: the first may be needed to resynchronise the assembler.
	before := in.decoded.Load()
	now = now.Add(time.Second)
	for range 2 {
		for _, pic := range pictures {
			send(pic, 1200, 0, 0)
			now = now.Add(33 * time.Millisecond)
		}
		now = now.Add(time.Second)
	}
	if in.decoded.Load() == before {
		a := in.layers[0].asm
		t.Fatalf("a clean keyframe after the fuzzed stream was not decoded: assembler %d frames, %d dropped, %d late, %d duplicates; input %d frames, %d keyframes, %d decode errors, %d dropped",
			a.Frames, a.Dropped, a.Late, a.Duplicates, in.frames.Load(), in.keyframes.Load(), in.decodeErrors.Load(), in.dropped.Load())
	}
}
