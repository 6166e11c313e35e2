package room

import (
	"fmt"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/opus"
	"github.com/tessera-mcu/tessera/mixer"
)

// encodedTone returns n consecutive 20 ms Opus packets of a tone (or of
// silence for freq 0), as a browser would send them.
func encodedTone(tb testing.TB, freq float64, n int) [][]byte {
	enc, err := opus.NewEncoder(opus.EncoderConfig{Bitrate: 32000, InbandFEC: true, PacketLossPercent: 5, DTX: freq == 0})
	if err != nil {
		tb.Fatal(err)
	}
	defer enc.Close()
	pcm := make([]int16, mixer.FrameSamples)
	buf := make([]byte, opus.MaxPacketBytes)
	var out [][]byte
	var pos int
	for range n {
		if freq > 0 {
			pos = codectest.Tone(pcm, 1, mixer.SampleRate, freq, 0.25, pos)
		}
		m, err := enc.Encode(pcm, buf)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, append([]byte(nil), buf[:m]...))
	}
	return out
}

// BenchmarkAudioTick measures one 20 ms room tick with n participants of
// whom three talk: draining every input's queue into its jitter buffer,
// talker selection, decoding the three talkers, the mix and mix-minus, the
// four Opus encodes and the hand-off of a packet to every listener. Only
// the network is left out.
func BenchmarkAudioTick(b *testing.B) {
	talk := [3][][]byte{encodedTone(b, 440, 50), encodedTone(b, 660, 50), encodedTone(b, 990, 50)}
	quiet := encodedTone(b, 0, 50)
	for _, n := range []int{10, 50, 200} {
		b.Run(fmt.Sprintf("N=%d/K=3", n), func(b *testing.B) {
			r, err := newRoom(Config{ID: 1, Video: VideoConfig{Disabled: true}}, nil, nil, testLogger(b))
			if err != nil {
				b.Fatal(err)
			}
			sink := make(chan Frame, 1024)
			go func() {
				for range sink {
				}
			}()
			defer close(sink)
			type src struct {
				in   *audioInput
				pkts [][]byte
				lvl  mixer.Level
			}
			srcs := make([]src, n)
			for i := range srcs {
				in, err := newAudioInput(opusMic())
				if err != nil {
					b.Fatal(err)
				}
				p := &participant{id: ParticipantID(i + 1), volume: 1, in: in, out: &Output{ch: sink}}
				r.parts[p.id] = p
				r.order = append(r.order, p)
				srcs[i] = src{in: in, pkts: quiet, lvl: 127}
				if i < 3 {
					srcs[i].pkts, srcs[i].lvl = talk[i], 20
				}
			}
			var seq uint16
			var ts uint32
			push := func() {
				for i := range srcs {
					s := &srcs[i]
					s.in.queue <- audioPacket{seq: seq, ts: ts, ssrc: uint32(i), level: s.lvl, hasLevel: true,
						payload: s.pkts[int(seq)%len(s.pkts)]}
				}
				seq++
				ts += mixer.FrameSamples
			}
			for range jitterTarget + 2 { // fill the jitter buffers
				push()
				r.audioTick()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				push()
				r.audioTick()
			}
			b.StopTimer()
			if got := r.stats.encoders.Load(); got != 4 {
				b.Fatalf("%d encoders, want 4", got)
			}
		})
	}
}

// BenchmarkVideoTick measures one composite frame of a room with nine
// cameras (640x360 moving pictures): composing the 1280x720 canvas and
// encoding it once per output in use, then handing the frame to every
// viewer's queue. The outputs are the ones a mixed room runs: H.264 at the
// top tier only, or H.264 and VP8 at both tiers.
func BenchmarkVideoTick(b *testing.B) {
	for _, tc := range []struct {
		name    string
		outputs []outputKey
	}{
		{"9-inputs/h264-720p", []outputKey{{CodecH264, 0}}},
		{"9-inputs/vp8-720p", []outputKey{{CodecVP8, 0}}},
		{"9-inputs/h264+vp8-both-tiers", []outputKey{{CodecH264, 0}, {CodecH264, 1}, {CodecVP8, 0}, {CodecVP8, 1}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r, err := newRoom(Config{ID: 1}, nil, nil, testLogger(b))
			if err != nil {
				b.Fatal(err)
			}
			defer r.video.close()
			sink := make(chan Frame, 4096)
			go func() {
				for range sink {
				}
			}()
			defer close(sink)
			// Eight pictures per camera, cycled: the cameras keep moving
			// without drawing in the timed loop.
			const cycle = 8
			var ins []*videoInput
			var pics [9][cycle]*codec.Frame
			for i := range 9 {
				for k := range cycle {
					pics[i][k] = codec.NewFrame(640, 360)
					codectest.MovingPicture(pics[i][k], i*10+k*4)
				}
				in := &videoInput{codec: CodecVP8}
				in.recent = []decoded{{f: pics[i][0], at: time.Now().Add(time.Hour)}}
				ins = append(ins, in)
				p := &participant{id: ParticipantID(i + 1), display: fmt.Sprintf("Participant %d", i+1), volume: 1, vin: in}
				r.parts[p.id] = p
				r.order = append(r.order, p)
			}
			for i, key := range tc.outputs {
				p := &participant{id: ParticipantID(100 + i), vout: &Output{ch: sink}}
				r.parts[p.id], r.order = p, append(r.order, p)
				r.addViewer(p, key)
			}
			now := time.Now()
			r.videoTick(now) // encoders warm, first keyframe out
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; b.Loop(); n++ {
				now = now.Add(33 * time.Millisecond)
				for i, in := range ins {
					in.recent[0].f = pics[i][n%cycle]
				}
				r.videoTick(now)
			}
		})
	}
}
