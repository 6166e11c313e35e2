package record

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/tessera-mcu/tessera/codec/h264/nal"
)

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
	it := nal.NewIter(au)
	for u, ok := it.Next(); ok; u, ok = it.Next() {
		typ := u[0] & 0x1f
		if typ == nal.AUD {
			continue
		}
		if typ == nal.IDR {
			f.idr = true
		}
		f.units++
		f.length += 4 + len(u)
	}
	return f
}

// appendAVC appends the access unit's NAL units, each behind a 4-byte
// big-endian length: the form ISO/IEC 14496-15 stores H.264 in, with
// lengthSizeMinusOne = 3 in the configuration record.
func appendAVC(b, au []byte) []byte {
	it := nal.NewIter(au)
	for u, ok := it.Next(); ok; u, ok = it.Next() {
		if u[0]&0x1f == nal.AUD {
			continue
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(u)))
		b = append(b, u...)
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
	it := nal.NewIter(au)
	for u, ok := it.Next(); ok; u, ok = it.Next() {
		switch u[0] & 0x1f {
		case nal.SPS:
			if len(u) >= 4 && !containsUnit(spss, u) {
				spss = append(spss, u)
			}
		case nal.PPS:
			if !containsUnit(ppss, u) {
				ppss = append(ppss, u)
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
	r := nal.NewBitReader(nal.Unescape(sps[4:]))
	if _, ok = r.UE(); !ok { // seq_parameter_set_id
		return
	}
	if chroma, ok = r.UE(); !ok || chroma > 3 {
		return 0, 0, 0, false
	}
	if chroma == 3 {
		if _, ok = r.Bit(); !ok { // separate_colour_plane_flag
			return
		}
	}
	if lumaDepth, ok = r.UE(); !ok || lumaDepth > 7 {
		return 0, 0, 0, false
	}
	if chromaDepth, ok = r.UE(); !ok || chromaDepth > 7 {
		return 0, 0, 0, false
	}
	return chroma, lumaDepth, chromaDepth, true
}
