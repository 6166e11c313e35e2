package baresip

import (
	"encoding/binary"
	"fmt"
)

// parseWAV reads a 16-bit PCM WAV file (as sndfile writes it): its
// samples (the first channel) and rate. A file still being written may
// have a zero data size in its header; the data then runs to the end.
func parseWAV(b []byte) ([]int16, int, error) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, fmt.Errorf("%w: not a WAV file", ErrNotReady)
	}
	var rate, channels, bits int
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:p+8]))
		body := b[p+8:]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return nil, 0, fmt.Errorf("%w: short fmt chunk", ErrNotReady)
			}
			channels = int(binary.LittleEndian.Uint16(body[2:4]))
			rate = int(binary.LittleEndian.Uint32(body[4:8]))
			bits = int(binary.LittleEndian.Uint16(body[14:16]))
		case "data":
			if bits != 16 || channels < 1 {
				return nil, 0, fmt.Errorf("%w: %d-bit %d-channel audio", ErrNotReady, bits, channels)
			}
			if size == 0 || size > len(body) {
				size = len(body)
			}
			n := size / 2 / channels
			out := make([]int16, n)
			for i := range out {
				out[i] = int16(binary.LittleEndian.Uint16(body[i*2*channels:]))
			}
			return out, rate, nil
		}
		p += 8 + size + size%2
	}
	return nil, 0, fmt.Errorf("%w: WAV without data", ErrNotReady)
}
