package testpeer

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrIVF: a file that is not an IVF stream of VP8 frames.
var ErrIVF = errors.New("testpeer: not a VP8 IVF file")

// ReadIVF splits an IVF file (the container ffmpeg and libvpx write raw
// VP8 into: a 32-byte header, then each frame behind a 12-byte header of
// its size and timestamp) into its frames, for Options.VideoClip.
func ReadIVF(b []byte) ([][]byte, error) {
	if len(b) < 32 || string(b[:4]) != "DKIF" || string(b[8:12]) != "VP80" {
		return nil, ErrIVF
	}
	hdr := int(binary.LittleEndian.Uint16(b[6:8]))
	if hdr < 32 || hdr > len(b) {
		return nil, fmt.Errorf("%w: header of %d bytes", ErrIVF, hdr)
	}
	var frames [][]byte
	for off := hdr; off < len(b); {
		if off+12 > len(b) {
			return nil, fmt.Errorf("%w: frame header cut at byte %d", ErrIVF, off)
		}
		n := int(binary.LittleEndian.Uint32(b[off : off+4]))
		off += 12
		if n > len(b)-off {
			return nil, fmt.Errorf("%w: frame of %d bytes past the end", ErrIVF, n)
		}
		frames = append(frames, b[off:off+n])
		off += n
	}
	if len(frames) == 0 {
		return nil, fmt.Errorf("%w: no frames", ErrIVF)
	}
	return frames, nil
}
