package record

import "encoding/binary"

// opusHead is the Opus identification header of RFC 7845 section 5.1: the
// first Ogg packet of an Ogg Opus stream, and the CodecPrivate of a
// Matroska A_OPUS track. Channel mapping family 0 covers mono and stereo.
func opusHead(a *AudioTrack) []byte {
	b := make([]byte, 19)
	copy(b, "OpusHead")
	b[8] = 1 // version
	b[9] = byte(a.Channels)
	binary.LittleEndian.PutUint16(b[10:], uint16(a.PreSkip))
	binary.LittleEndian.PutUint32(b[12:], uint32(a.SampleRate))
	binary.LittleEndian.PutUint16(b[16:], 0) // output gain, Q7.8 dB
	b[18] = 0                                // channel mapping family
	return b
}

// opusTags is the comment header of RFC 7845 section 5.2, with the vendor
// string and no user comments.
func opusTags(vendor string) []byte {
	b := make([]byte, 0, 16+len(vendor))
	b = append(b, "OpusTags"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(vendor)))
	b = append(b, vendor...)
	return binary.LittleEndian.AppendUint32(b, 0)
}

// opusSamples is the duration of an Opus packet in 48 kHz samples, read
// from its TOC byte and, for code 3, its frame count byte (RFC 6716
// section 3.1). It returns 0 for a packet too short or malformed to say.
func opusSamples(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	config := p[0] >> 3
	var frame int
	switch {
	case config < 12: // SILK-only: 10, 20, 40, 60 ms
		frame = [4]int{480, 960, 1920, 2880}[config&3]
	case config < 16: // hybrid: 10, 20 ms
		frame = [2]int{480, 960}[config&1]
	default: // CELT-only: 2.5, 5, 10, 20 ms
		frame = [4]int{120, 240, 480, 960}[config&3]
	}
	frames := 1
	switch p[0] & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 {
			return 0
		}
		frames = int(p[1] & 0x3f)
	}
	n := frame * frames
	if n > 5760 { // a packet holds at most 120 ms
		return 0
	}
	return n
}

// defaultOpusSamples is assumed for a packet whose TOC cannot be read.
const defaultOpusSamples = 960

// silentSamples is the duration of the packets silence returns.
const silentSamples = 960

// silence is a 20 ms CELT-only fullband Opus packet (TOC config 31, one
// frame) whose range-coded payload decodes the silence flag as set, so the
// frame is all zeros. It fills holes in an Ogg stream, which has no
// timestamps to skip time with.
func silence(channels int) []byte {
	toc := byte(31 << 3)
	if channels == 2 {
		toc |= 0x04
	}
	return []byte{toc, 0xFF, 0xFE}
}
