package g722

import (
	"errors"
	"testing"

	"github.com/tessera-mcu/tessera/codec"
)

// FuzzDecode decodes arbitrary payloads, conceals a frame and decodes
// again. Every byte sequence is G.722, so only the empty payload may
// fail, and the output is always six samples per byte.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0xff})
	f.Add(make([]byte, FrameBytes))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		pcm := make([]int16, max(SamplesPerByte*len(data), FrameSamples))
		n, err := d.Decode(data, pcm)
		if len(data) == 0 {
			if !errors.Is(err, codec.ErrCorrupt) {
				t.Fatalf("empty payload gave %v", err)
			}
			return
		}
		if err != nil || n != SamplesPerByte*len(data) {
			t.Fatalf("Decode(%d bytes) = %d, %v", len(data), n, err)
		}
		if _, err := d.Conceal(pcm, FrameSamples); err != nil {
			t.Fatalf("Conceal: %v", err)
		}
		if _, err := d.Decode(data, pcm); err != nil {
			t.Fatalf("Decode after Conceal: %v", err)
		}
		if _, err := d.Decode(data, pcm[:SamplesPerByte*len(data)-1]); !errors.Is(err, codec.ErrFrameSize) {
			t.Fatalf("Decode into a short buffer: %v", err)
		}
	})
}
