package g711

import (
	"errors"
	"testing"

	"github.com/tessera-mcu/tessera/codec"
)

// FuzzDecode decodes arbitrary payloads with both laws, conceals a frame
// and decodes again. Every payload byte is a valid sample, so only the
// empty payload may fail, and the output is always six samples per byte.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, l := range laws {
			d, err := NewDecoder(l)
			if err != nil {
				t.Fatal(err)
			}
			pcm := make([]int16, max(6*len(data), FrameSamples))
			n, err := d.Decode(data, pcm)
			if len(data) == 0 {
				if !errors.Is(err, codec.ErrCorrupt) {
					t.Fatalf("%v: empty payload gave %v", l, err)
				}
				continue
			}
			if err != nil || n != 6*len(data) {
				t.Fatalf("%v: Decode(%d bytes) = %d, %v", l, len(data), n, err)
			}
			if _, err := d.Conceal(pcm, FrameSamples); err != nil {
				t.Fatalf("%v: Conceal: %v", l, err)
			}
			if _, err := d.Decode(data, pcm); err != nil {
				t.Fatalf("%v: Decode after Conceal: %v", l, err)
			}
			if _, err := d.Decode(data, pcm[:6*len(data)-1]); !errors.Is(err, codec.ErrFrameSize) {
				t.Fatalf("%v: Decode into a short buffer: %v", l, err)
			}
		}
	})
}
