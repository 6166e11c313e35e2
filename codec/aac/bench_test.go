package aac

import "testing"

// BenchmarkEncode20ms encodes one 20 ms chunk of 48 kHz mono per
// operation at 128 kbit/s: what a room's live output costs per audio tick.
// The signal is white noise, the encoder's hardest case.
func BenchmarkEncode20ms(b *testing.B) {
	e := mustEncoder(b, EncoderConfig{})
	pcm := noise(rate)
	chunks := len(pcm) / chunk
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % chunks
		if _, err := e.Encode(pcm[k*chunk:(k+1)*chunk], 0); err != nil {
			b.Fatal(err)
		}
	}
}
