package opus

import "testing"

// The benchmarks encode and decode one 20 ms frame of 48 kHz audio per
// operation, at the bitrates a conference uses (32 kbit/s mono voice,
// 64 kbit/s stereo), with libopus's default complexity.

var benchCases = []struct {
	name    string
	ch      int
	bitrate int
}{
	{"mono", 1, 32000},
	{"stereo", 2, 64000},
}

// benchSignal is 1 s of musicLike on every channel, the right channel
// delayed by 1 ms so that stereo coding has work to do.
func benchSignal(ch int) []int16 {
	const n = rate
	mono := musicLike(n+48, 5)
	pcm := make([]int16, n*ch)
	for i := 0; i < n; i++ {
		for c := 0; c < ch; c++ {
			pcm[i*ch+c] = mono[i+48*c]
		}
	}
	return pcm
}

func BenchmarkEncode(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			e := mustEncoder(b, EncoderConfig{Channels: bc.ch, Bitrate: bc.bitrate})
			in := benchSignal(bc.ch)
			step := frame * bc.ch
			frames := len(in) / step
			buf := make([]byte, MaxPacketBytes)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := i % frames
				if _, err := e.Encode(in[k*step:(k+1)*step], buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			e := mustEncoder(b, EncoderConfig{Channels: bc.ch, Bitrate: bc.bitrate})
			pkts := encodeAll(b, e, benchSignal(bc.ch))
			d := mustDecoder(b, rate, bc.ch)
			out := make([]int16, MaxFrameSamples*bc.ch)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.Decode(pkts[i%len(pkts)], out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
