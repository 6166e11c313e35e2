package room

import "github.com/tessera-mcu/tessera/mixer"

// opusSamples is the duration of an Opus packet in 48 kHz samples, read
// from its table-of-contents byte (RFC 6716, section 3.1). A packet it
// cannot read counts as one 20 ms frame, the only size browsers send.
func opusSamples(pkt []byte) int {
	if len(pkt) == 0 {
		return mixer.FrameSamples
	}
	toc := pkt[0]
	cfg := toc >> 3
	var frame int // samples per frame at 48 kHz
	switch {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		frame = [4]int{480, 960, 1920, 2880}[cfg&3]
	case cfg < 16: // Hybrid: 10, 20 ms
		frame = [2]int{480, 960}[cfg&1]
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = [4]int{120, 240, 480, 960}[cfg&3]
	}
	var count int
	switch toc & 3 {
	case 0:
		count = 1
	case 1, 2:
		count = 2
	default:
		if len(pkt) < 2 {
			return mixer.FrameSamples
		}
		count = int(pkt[1] & 0x3f)
	}
	n := frame * count
	if n <= 0 || n > 5760 { // RFC 6716: at most 120 ms per packet
		return mixer.FrameSamples
	}
	return n
}
