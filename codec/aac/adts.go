package aac

import (
	"fmt"

	"github.com/tessera-mcu/tessera/codec"
)

// ADTSHeaderSize is the size of an ADTS header without CRC.
const ADTSHeaderSize = 7

// maxADTSFrame is the largest frame_length (header included) the 13-bit
// field holds.
const maxADTSFrame = 1<<13 - 1

// objectTypeLC is the MPEG-4 audio object type of AAC-LC.
const objectTypeLC = 2

// sampleRates is the sampling_frequency_index table of ISO/IEC 14496-3
// 1.6.3.4; the index of a rate is what AudioSpecificConfig and ADTS carry.
var sampleRates = []int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

func rateIndex(rate int) (int, bool) {
	for i, r := range sampleRates {
		if r == rate {
			return i, true
		}
	}
	return 0, false
}

// AudioSpecificConfig returns the two-byte AudioSpecificConfig of an AAC-LC
// stream at rate Hz with channels channels (ISO/IEC 14496-3 1.6.2.1): object
// type 2, the sampling frequency index and the channel configuration, with
// a 1024-sample frame length.
func AudioSpecificConfig(rate, channels int) ([]byte, error) {
	idx, ok := rateIndex(rate)
	if !ok {
		return nil, fmt.Errorf("%w: aac: sample rate %d Hz has no sampling frequency index", codec.ErrInvalidConfig, rate)
	}
	if channels < 1 || channels > 7 {
		return nil, fmt.Errorf("%w: aac: %d channels", codec.ErrInvalidConfig, channels)
	}
	v := uint16(objectTypeLC)<<11 | uint16(idx)<<7 | uint16(channels)<<3
	return []byte{byte(v >> 8), byte(v)}, nil
}

// AppendADTS appends an ADTS header (ISO/IEC 14496-3 1.A.2.2, MPEG-4, no
// CRC, one raw data block) for the AAC-LC frame at rate Hz with channels
// channels, then the frame itself, to dst. Concatenated, such frames are an
// .aac file or the payload of an MPEG-TS audio stream.
func AppendADTS(dst []byte, rate, channels int, frame []byte) ([]byte, error) {
	idx, ok := rateIndex(rate)
	if !ok {
		return dst, fmt.Errorf("%w: aac: sample rate %d Hz has no sampling frequency index", codec.ErrInvalidConfig, rate)
	}
	if channels < 1 || channels > 7 {
		return dst, fmt.Errorf("%w: aac: %d channels", codec.ErrInvalidConfig, channels)
	}
	n := ADTSHeaderSize + len(frame)
	if len(frame) == 0 || n > maxADTSFrame {
		return dst, fmt.Errorf("%w: aac: ADTS frame of %d bytes", codec.ErrFrameSize, len(frame))
	}
	dst = append(dst,
		0xff,
		0xf1, // syncword end, MPEG-4, layer 0, protection_absent
		byte((objectTypeLC-1)<<6|idx<<2|channels>>2),
		byte((channels&3)<<6|n>>11),
		byte(n>>3),
		byte((n&7)<<5|0x1f), // buffer fullness 0x7ff: variable bitrate
		0xfc,                // rest of the fullness, one raw data block
	)
	return append(dst, frame...), nil
}
