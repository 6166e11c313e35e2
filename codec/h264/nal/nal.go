// Package nal reads H.264 byte streams (ITU-T H.264 annex B) without cgo:
// walking NAL units, telling their types, removing emulation prevention
// bytes and reading Exp-Golomb codes. The H.264 codec adapter, the room's
// keyframe detection and the recorder's Matroska writer all use it.
package nal

import "bytes"

// NAL unit types (ITU-T H.264 table 7-1).
const (
	Slice = 1
	IDR   = 5
	SEI   = 6
	SPS   = 7
	PPS   = 8
	AUD   = 9
)

// Type is the nal_unit_type of a unit (0 for an empty one).
func Type(unit []byte) int {
	if len(unit) == 0 {
		return 0
	}
	return int(unit[0] & 0x1f)
}

// IndexStartCode returns the offset of the first 00 00 01 in b, or -1. It
// looks for the 01 first, which is rarer than 00 in coded slices.
func IndexStartCode(b []byte) int {
	for off := 2; off < len(b); {
		j := bytes.IndexByte(b[off:], 1)
		if j < 0 {
			return -1
		}
		k := off + j
		if b[k-1] == 0 && b[k-2] == 0 {
			return k - 2
		}
		off = k + 1
	}
	return -1
}

// Iter walks the NAL units of an Annex-B buffer without allocating. Units
// come without their start codes and without trailing zero bytes (the
// zero_byte of a 4-byte start code, or trailing_zero_8bits); bytes before
// the first start code are skipped.
type Iter struct {
	b []byte
	i int // offset of the next unit's first byte; -1 at the end
}

// NewIter starts walking b.
func NewIter(b []byte) Iter {
	i := IndexStartCode(b)
	if i >= 0 {
		i += 3
	}
	return Iter{b: b, i: i}
}

// Next returns the next unit (aliasing the buffer), or false at the end.
func (it *Iter) Next() ([]byte, bool) {
	for it.i >= 0 && it.i <= len(it.b) {
		start := it.i
		end := len(it.b)
		if j := IndexStartCode(it.b[start:]); j >= 0 {
			end = start + j
			it.i = end + 3
		} else {
			it.i = -1
		}
		for end > start && it.b[end-1] == 0 {
			end--
		}
		if end > start {
			return it.b[start:end], true
		}
	}
	return nil, false
}

// ContainsIDR reports whether an Annex-B buffer holds an IDR slice: an
// access unit that starts a decodable sequence.
func ContainsIDR(b []byte) bool {
	it := NewIter(b)
	for u, ok := it.Next(); ok; u, ok = it.Next() {
		if Type(u) == IDR {
			return true
		}
	}
	return false
}

// Unescape removes emulation prevention bytes (the 03 of 00 00 03),
// turning a NAL unit's payload into its RBSP.
func Unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

// BitReader reads bits and Exp-Golomb codes (H.264 section 9.1) from an
// RBSP. Give it unescaped bytes, except for the first bytes of a header,
// where no emulation prevention can occur.
type BitReader struct {
	b   []byte
	pos int // in bits
}

// NewBitReader reads b from its first bit.
func NewBitReader(b []byte) *BitReader { return &BitReader{b: b} }

// Bit reads one bit.
func (r *BitReader) Bit() (int, bool) {
	if r.pos >= 8*len(r.b) {
		return 0, false
	}
	v := int(r.b[r.pos>>3]>>(7-r.pos&7)) & 1
	r.pos++
	return v, true
}

// Bits reads n bits, most significant first.
func (r *BitReader) Bits(n int) (int, bool) {
	v := 0
	for range n {
		b, ok := r.Bit()
		if !ok {
			return 0, false
		}
		v = v<<1 | b
	}
	return v, true
}

// UE reads an unsigned Exp-Golomb code of at most 31 bits.
func (r *BitReader) UE() (int, bool) {
	zeros := 0
	for {
		b, ok := r.Bit()
		if !ok {
			return 0, false
		}
		if b == 1 {
			break
		}
		if zeros++; zeros > 31 {
			return 0, false
		}
	}
	v, ok := r.Bits(zeros)
	if !ok {
		return 0, false
	}
	return 1<<zeros - 1 + v, true
}
