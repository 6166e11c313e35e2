package g711

import (
	"fmt"
	"math/bits"
)

// Law selects the G.711 companding law.
type Law int

const (
	// ULaw is PCMU (µ-law), RTP payload type 0.
	ULaw Law = iota
	// ALaw is PCMA (A-law), RTP payload type 8.
	ALaw
)

// String is the RTP encoding name.
func (l Law) String() string {
	switch l {
	case ULaw:
		return "PCMU"
	case ALaw:
		return "PCMA"
	}
	return fmt.Sprintf("Law(%d)", int(l))
}

// PayloadType is the static RTP payload type of the law (RFC 3551).
func (l Law) PayloadType() uint8 {
	if l == ALaw {
		return 8
	}
	return 0
}

func (l Law) valid() bool { return l == ULaw || l == ALaw }

const (
	ulawBias = 33   // added to the 14-bit magnitude
	ulawClip = 8158 // largest 14-bit magnitude that still fits after the bias
)

var ulawTable, alawTable [256]int16

func init() {
	for c := range 256 {
		ulawTable[c] = decodeULaw(byte(c))
		alawTable[c] = decodeALaw(byte(c))
	}
}

// EncodeULaw compresses a 16-bit linear sample to a µ-law code.
func EncodeULaw(s int16) byte {
	x := int32(s)
	mask := byte(0xff) // positive: all bits inverted, leaving the sign bit set
	if x < 0 {
		// Ones' complement makes the two halves symmetric: -1 maps like 0.
		x = ^x
		mask = 0x7f
	}
	x >>= 2 // 14-bit magnitude
	if x > ulawClip {
		x = ulawClip
	}
	x += ulawBias // 33..8191: segment n spans [32<<n, 64<<n)
	seg := bits.Len32(uint32(x)) - 6
	mant := (x >> (seg + 1)) & 0xf
	return (byte(seg)<<4 | byte(mant)) ^ mask
}

// DecodeULaw expands a µ-law code to a 16-bit linear sample.
func DecodeULaw(c byte) int16 { return ulawTable[c] }

func decodeULaw(c byte) int16 {
	u := ^c
	seg := (u >> 4) & 7
	mant := int32(u & 0xf)
	// Middle of the interval, with the bias taken off again.
	mag := (mant<<1+ulawBias)<<seg - ulawBias
	v := int16(mag << 2)
	if u&0x80 != 0 {
		return -v
	}
	return v
}

// EncodeALaw compresses a 16-bit linear sample to an A-law code.
func EncodeALaw(s int16) byte {
	x := int32(s)
	mask := byte(0xd5) // positive: sign bit set, even bits inverted
	if x < 0 {
		x = ^x
		mask = 0x55
	}
	x >>= 3 // 12-bit magnitude; segment 0 spans [0, 32), segment n [16<<n, 32<<n)
	var code byte
	if x < 32 {
		code = byte(x >> 1)
	} else {
		seg := bits.Len32(uint32(x)) - 5
		code = byte(seg)<<4 | byte((x>>seg)&0xf)
	}
	return code ^ mask
}

// DecodeALaw expands an A-law code to a 16-bit linear sample.
func DecodeALaw(c byte) int16 { return alawTable[c] }

func decodeALaw(c byte) int16 {
	a := c ^ 0x55
	seg := (a >> 4) & 7
	mant := int32(a & 0xf)
	var mag int32
	if seg == 0 {
		mag = mant<<1 | 1
	} else {
		mag = (mant<<1 + 33) << (seg - 1)
	}
	v := int16(mag << 3)
	if a&0x80 == 0 {
		return -v
	}
	return v
}
