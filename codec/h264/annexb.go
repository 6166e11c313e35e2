package h264

import (
	"bytes"

	"github.com/tessera-mcu/tessera/codec/h264/nal"
)

// NAL unit types (H.264 table 7-1) this package looks at.
const (
	nalSlice = nal.Slice
	nalIDR   = nal.IDR
	nalSEI   = nal.SEI
	nalSPS   = nal.SPS
	nalPPS   = nal.PPS
	nalAUD   = nal.AUD
)

const profileBaseline = 66

var startCode = []byte{0, 0, 1}

// startCodeLen is the length of the Annex-B start code b begins with: 4 for
// 00 00 00 01, 3 for 00 00 01, 0 if there is none.
func startCodeLen(b []byte) int {
	switch {
	case len(b) >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 1:
		return 4
	case len(b) >= 3 && b[0] == 0 && b[1] == 0 && b[2] == 1:
		return 3
	}
	return 0
}

// nalSpan is one NAL unit inside an Annex-B buffer: b[start:end] is the
// unit with its start code (a 00 byte in front of 00 00 01 is counted as
// part of the start code), b[payload:end] the unit itself.
type nalSpan struct{ start, payload, end int }

// scanNALs calls fn for every NAL unit of the Annex-B buffer b, in order.
// Bytes before the first start code are skipped, and trailing zero bytes
// are not part of a unit.
func scanNALs(b []byte, fn func(nalSpan)) {
	i := bytes.Index(b, startCode)
	if i < 0 {
		return
	}
	for {
		start := i
		if start > 0 && b[start-1] == 0 {
			start--
		}
		payload := i + 3
		next := bytes.Index(b[payload:], startCode)
		end := len(b)
		if next >= 0 {
			end = payload + next
		}
		nextStart := end
		for end > payload && b[end-1] == 0 {
			end--
		}
		if end > payload {
			fn(nalSpan{start, payload, end})
		}
		if next < 0 {
			return
		}
		i = nextStart
	}
}

// SplitNALUnits returns the NAL units of an Annex-B buffer, without their
// start codes. The slices alias b. Bytes before the first start code are
// ignored; a buffer without any start code has no NAL units.
func SplitNALUnits(b []byte) [][]byte {
	var out [][]byte
	scanNALs(b, func(s nalSpan) { out = append(out, b[s.payload:s.end]) })
	return out
}

// SplitAccessUnits cuts an Annex-B byte stream (a .h264 file, or several
// pictures a depacketizer handed over at once) into access units, each with
// its start codes and aliasing stream. It follows the rules of H.264
// section 7.4.1.2.3 as far as they matter for streams without arbitrary
// slice order or redundant pictures: a new access unit starts at an access
// unit delimiter, or at an SEI, SPS, PPS or NAL unit of types 14 to 18 that
// follows a slice, or at a slice whose first_mb_in_slice does not exceed
// the previous slice's (a new picture, even if its first slice was lost).
func SplitAccessUnits(stream []byte) [][]byte {
	var (
		out         [][]byte
		auStart     = -1
		sawVCL      bool
		lastFirstMB int
	)
	cut := func(at int) {
		if auStart >= 0 && at > auStart {
			out = append(out, stream[auStart:at])
		}
		auStart = at
		sawVCL = false
	}
	end := 0
	scanNALs(stream, func(s nalSpan) {
		if auStart < 0 {
			auStart = s.start
		}
		typ := int(stream[s.payload] & 0x1f)
		switch {
		case typ == nalAUD:
			cut(s.start)
		case typ == nalSEI || typ == nalSPS || typ == nalPPS || (typ >= 14 && typ <= 18):
			if sawVCL {
				cut(s.start)
			}
		case typ >= nalSlice && typ <= nalIDR:
			mb, ok := firstMBInSlice(stream[s.payload:s.end])
			if sawVCL && (!ok || mb <= lastFirstMB) {
				cut(s.start)
			}
			sawVCL = true
			lastFirstMB = mb
		}
		end = s.end
	})
	if auStart >= 0 && end > auStart {
		out = append(out, stream[auStart:end])
	}
	return out
}

// ContainsIDR reports whether the Annex-B buffer b holds a slice of an IDR
// picture.
func ContainsIDR(b []byte) bool { return nal.ContainsIDR(b) }

// firstMBInSlice reads first_mb_in_slice, the ue(v) that opens the slice
// header of the slice NAL unit nal (header byte included). A valid value
// is below 2^16, so its code cannot contain the two zero bytes that would
// need emulation prevention.
func firstMBInSlice(unit []byte) (int, bool) {
	return nal.NewBitReader(unit[1:]).UE()
}
