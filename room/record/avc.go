package record

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// H.264 NAL unit types (ITU-T H.264 table 7-1) the writer looks at.
const (
	nalIDR = 5
	nalSPS = 7
	nalPPS = 8
	nalAUD = 9
)

// nalIter walks the NAL units of an Annex-B buffer (ITU-T H.264 annex B)
// without allocating. Units come without their start codes and without
// trailing zero bytes (the zero_byte of a 4-byte start code, or
// trailing_zero_8bits).
type nalIter struct {
	b []byte
	i int // offset of the next unit's first byte; -1 at the end
}

// indexStartCode returns the offset of the first 00 00 01 in b, or -1. It
// looks for the 01 first, which is rarer than 00 in coded slices.
func indexStartCode(b []byte) int {
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

func newNALIter(b []byte) nalIter {
	i := indexStartCode(b)
	if i >= 0 {
		i += 3
	}
	return nalIter{b: b, i: i}
}

func (it *nalIter) next() ([]byte, bool) {
	for it.i >= 0 && it.i <= len(it.b) {
		start := it.i
		end := len(it.b)
		if j := indexStartCode(it.b[start:]); j >= 0 {
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

// avcFrame is what the writer learns from one access unit.
type avcFrame struct {
	idr    bool
	units  int // NAL units that go into the block
	length int // their size as 4-byte length-prefixed units
}

// scanAVC reads the access unit's NAL units: whether it holds an IDR slice
// and how long the length-prefixed form is. Access unit delimiters are
// left out: they mean nothing once units carry lengths.
func scanAVC(au []byte) avcFrame {
	var f avcFrame
	it := newNALIter(au)
	for nal, ok := it.next(); ok; nal, ok = it.next() {
		typ := nal[0] & 0x1f
		if typ == nalAUD {
			continue
		}
		if typ == nalIDR {
			f.idr = true
		}
		f.units++
		f.length += 4 + len(nal)
	}
	return f
}

// appendAVC appends the access unit's NAL units, each behind a 4-byte
// big-endian length: the form ISO/IEC 14496-15 stores H.264 in, with
// lengthSizeMinusOne = 3 in the configuration record.
func appendAVC(b, au []byte) []byte {
	it := newNALIter(au)
	for nal, ok := it.next(); ok; nal, ok = it.next() {
		if nal[0]&0x1f == nalAUD {
			continue
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(nal)))
		b = append(b, nal...)
	}
	return b
}

// avcConfig builds the AVCDecoderConfigurationRecord of ISO/IEC 14496-15
// section 5.3.3.1 (the "avcC" box contents, and the CodecPrivate of a
// Matroska V_MPEG4/ISO/AVC track) from the sequence and picture parameter
// sets of an access unit, normally the first IDR. It fails if the unit
// lacks either.
func avcConfig(au []byte) ([]byte, error) {
	var spss, ppss [][]byte
	it := newNALIter(au)
	for nal, ok := it.next(); ok; nal, ok = it.next() {
		switch nal[0] & 0x1f {
		case nalSPS:
			if len(nal) >= 4 && !containsUnit(spss, nal) {
				spss = append(spss, nal)
			}
		case nalPPS:
			if !containsUnit(ppss, nal) {
				ppss = append(ppss, nal)
			}
		}
	}
	if len(spss) == 0 || len(ppss) == 0 {
		return nil, fmt.Errorf("%w: H.264 keyframe without SPS and PPS", ErrInvalid)
	}
	if len(spss) > 31 || len(ppss) > 255 {
		return nil, fmt.Errorf("%w: H.264 keyframe with %d SPS and %d PPS", ErrInvalid, len(spss), len(ppss))
	}
	sps := spss[0]
	b := []byte{
		1,                      // configurationVersion
		sps[1],                 // AVCProfileIndication
		sps[2],                 // profile_compatibility
		sps[3],                 // AVCLevelIndication
		0xfc | 3,               // reserved '111111', lengthSizeMinusOne
		0xe0 | byte(len(spss)), // reserved '111', numOfSequenceParameterSets
	}
	for _, s := range spss {
		if len(s) > 0xffff {
			return nil, fmt.Errorf("%w: H.264 SPS of %d bytes", ErrInvalid, len(s))
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	b = append(b, byte(len(ppss)))
	for _, p := range ppss {
		if len(p) > 0xffff {
			return nil, fmt.Errorf("%w: H.264 PPS of %d bytes", ErrInvalid, len(p))
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
		b = append(b, p...)
	}
	// The High profiles add the chroma format and bit depths, which only
	// the SPS body tells.
	switch sps[1] {
	case 100, 110, 122, 144:
		chroma, lumaDepth, chromaDepth, ok := spsChroma(sps)
		if !ok {
			return nil, fmt.Errorf("%w: H.264 SPS cannot be parsed", ErrInvalid)
		}
		b = append(b,
			0xfc|byte(chroma),      // reserved '111111', chroma_format
			0xf8|byte(lumaDepth),   // reserved '11111', bit_depth_luma_minus8
			0xf8|byte(chromaDepth), // reserved '11111', bit_depth_chroma_minus8
			0,                      // numOfSequenceParameterSetExt
		)
	}
	return b, nil
}

func containsUnit(list [][]byte, u []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, u) {
			return true
		}
	}
	return false
}

// spsChroma reads chroma_format_idc and the bit depths from a High profile
// SPS (H.264 section 7.3.2.1.1): they follow seq_parameter_set_id.
func spsChroma(sps []byte) (chroma, lumaDepth, chromaDepth int, ok bool) {
	r := rbspReader{b: unescapeRBSP(sps[4:])}
	if _, ok = r.ue(); !ok { // seq_parameter_set_id
		return
	}
	if chroma, ok = r.ue(); !ok || chroma > 3 {
		return 0, 0, 0, false
	}
	if chroma == 3 {
		if _, ok = r.bit(); !ok { // separate_colour_plane_flag
			return
		}
	}
	if lumaDepth, ok = r.ue(); !ok || lumaDepth > 7 {
		return 0, 0, 0, false
	}
	if chromaDepth, ok = r.ue(); !ok || chromaDepth > 7 {
		return 0, 0, 0, false
	}
	return chroma, lumaDepth, chromaDepth, true
}

// unescapeRBSP removes emulation prevention bytes (the 03 of 00 00 03).
func unescapeRBSP(b []byte) []byte {
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

// rbspReader reads bits and Exp-Golomb codes (H.264 section 9.1).
type rbspReader struct {
	b   []byte
	pos int
}

func (r *rbspReader) bit() (int, bool) {
	if r.pos >= 8*len(r.b) {
		return 0, false
	}
	v := int(r.b[r.pos>>3]>>(7-r.pos&7)) & 1
	r.pos++
	return v, true
}

func (r *rbspReader) ue() (int, bool) {
	zeros := 0
	for {
		b, ok := r.bit()
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
	v := 0
	for range zeros {
		b, ok := r.bit()
		if !ok {
			return 0, false
		}
		v = v<<1 | b
	}
	return 1<<zeros - 1 + v, true
}
