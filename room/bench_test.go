package room

import (
	"fmt"
	"testing"

	"github.com/pion/webrtc/v4/pkg/media"

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
			sink := make(chan media.Sample, 1024)
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
				in, err := newAudioInput()
				if err != nil {
					b.Fatal(err)
				}
				p := &Participant{id: ParticipantID(i + 1), volume: 1, in: in, out: &egress{ch: sink}}
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
