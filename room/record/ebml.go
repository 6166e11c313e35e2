package record

import (
	"encoding/binary"
	"math"
)

// EBML (RFC 8794) primitives. An element is its ID, its data size as a
// variable-size integer (vint) and its data. A vint of n octets carries a
// length marker (n-1 zero bits and a one bit) followed by 7n value bits;
// the value with every value bit set is reserved and, as a size, means
// "unknown size". Element IDs are written as they appear in the
// specifications, marker bits included, so they are appended byte for byte.

// Matroska element IDs used by this package (Matroska specification,
// draft-ietf-cellar-matroska, and the EBML header of RFC 8794 section 11).
const (
	idEBML               = 0x1A45DFA3
	idEBMLVersion        = 0x4286
	idEBMLReadVersion    = 0x42F7
	idEBMLMaxIDLength    = 0x42F2
	idEBMLMaxSizeLength  = 0x42F3
	idDocType            = 0x4282
	idDocTypeVersion     = 0x4287
	idDocTypeReadVersion = 0x4285
	idVoid               = 0xEC

	idSegment      = 0x18538067
	idSeekHead     = 0x114D9B74
	idSeek         = 0x4DBB
	idSeekID       = 0x53AB
	idSeekPosition = 0x53AC

	idInfo           = 0x1549A966
	idTimestampScale = 0x2AD7B1
	idDuration       = 0x4489
	idDateUTC        = 0x4461
	idMuxingApp      = 0x4D80
	idWritingApp     = 0x5741

	idTracks            = 0x1654AE6B
	idTrackEntry        = 0xAE
	idTrackNumber       = 0xD7
	idTrackUID          = 0x73C5
	idTrackType         = 0x83
	idFlagLacing        = 0x9C
	idLanguage          = 0x22B59C
	idCodecID           = 0x86
	idCodecPrivate      = 0x63A2
	idCodecDelay        = 0x56AA
	idSeekPreRoll       = 0x56BB
	idVideo             = 0xE0
	idPixelWidth        = 0xB0
	idPixelHeight       = 0xBA
	idAudio             = 0xE1
	idSamplingFrequency = 0xB5
	idChannels          = 0x9F

	idCluster     = 0x1F43B675
	idTimestamp   = 0xE7
	idSimpleBlock = 0xA3

	idCues               = 0x1C53BB6B
	idCuePoint           = 0xBB
	idCueTime            = 0xB3
	idCueTrackPositions  = 0xB7
	idCueTrack           = 0xF7
	idCueClusterPosition = 0xF1
)

// unknownValue, written as an 8-octet vint, sets every value bit: the
// size of an element of unknown size (RFC 8794 section 6.2), which extends
// until an element that cannot be its child, or the end of the file.
const unknownValue = 1<<56 - 1

// maxVint is the largest size an 8-octet vint can carry (2^56-2).
const maxVint = 1<<56 - 2

// vintLen is the number of octets of the shortest vint that carries v as a
// known size: n octets hold 0..2^(7n)-2.
func vintLen(v uint64) int {
	n := 1
	for n < 8 && v >= 1<<(7*n)-1 {
		n++
	}
	return n
}

// appendVint appends v as the shortest vint.
func appendVint(b []byte, v uint64) []byte {
	return appendVintN(b, v, vintLen(v))
}

// appendVintN appends v as a vint of exactly n octets (1..8). v must fit:
// v <= 2^(7n)-2.
func appendVintN(b []byte, v uint64, n int) []byte {
	v |= 1 << (7 * n) // length marker
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// putVint8 writes v as an 8-octet vint into b[:8].
func putVint8(b []byte, v uint64) {
	binary.BigEndian.PutUint64(b, v|1<<56)
}

// idLen is the length of an element ID, read from the marker bits of its
// first octet.
func idLen(id uint32) int {
	switch {
	case id >= 1<<24:
		return 4
	case id >= 1<<16:
		return 3
	case id >= 1<<8:
		return 2
	}
	return 1
}

func appendID(b []byte, id uint32) []byte {
	for i := idLen(id) - 1; i >= 0; i-- {
		b = append(b, byte(id>>(8*i)))
	}
	return b
}

// uintLen is the number of octets of v in an unsigned integer element: the
// fewest that hold it, and one for zero (a zero-length integer means the
// element's default, which is not always zero).
func uintLen(v uint64) int {
	n := 1
	for n < 8 && v>>(8*n) != 0 {
		n++
	}
	return n
}

func appendUintData(b []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// appendUint appends an unsigned integer element in as few octets as
// possible.
func appendUint(b []byte, id uint32, v uint64) []byte {
	return appendUintN(b, id, v, uintLen(v))
}

// appendUintN appends an unsigned integer element of exactly n octets, for
// fields whose size must not depend on their value.
func appendUintN(b []byte, id uint32, v uint64, n int) []byte {
	b = appendID(b, id)
	b = appendVint(b, uint64(n))
	return appendUintData(b, v, n)
}

// appendInt8 appends a signed integer element of 8 octets.
func appendInt8(b []byte, id uint32, v int64) []byte {
	return appendUintN(b, id, uint64(v), 8)
}

// appendFloat appends a float element as an IEEE 754 binary64.
func appendFloat(b []byte, id uint32, f float64) []byte {
	return appendUintN(b, id, math.Float64bits(f), 8)
}

func appendString(b []byte, id uint32, s string) []byte {
	b = appendID(b, id)
	b = appendVint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBinary(b []byte, id uint32, data []byte) []byte {
	b = appendID(b, id)
	b = appendVint(b, uint64(len(data)))
	return append(b, data...)
}

// appendMaster appends a master element whose children body appends. The
// size is known only afterwards, so the children are moved up to make room
// for it; this is for headers and indexes, not for the per-block path.
func appendMaster(b []byte, id uint32, body func([]byte) []byte) []byte {
	b = appendID(b, id)
	start := len(b)
	b = body(b)
	n := len(b) - start
	l := vintLen(uint64(n))
	for range l {
		b = append(b, 0)
	}
	copy(b[start+l:], b[start:start+n])
	// Overwrite the l octets at start in place.
	appendVintN(b[start:start], uint64(n), l)
	return b
}

// appendVoid appends a Void element of exactly n octets in total (n >= 2).
// Readers skip Void elements; they reserve room that Close fills in.
func appendVoid(b []byte, n int) []byte {
	// One octet of ID, then the shortest size vint that leaves the rest
	// as data.
	l := 1
	for vintLen(uint64(n-1-l)) > l {
		l++
	}
	data := n - 1 - l
	b = appendID(b, idVoid)
	b = appendVintN(b, uint64(data), l)
	for range data {
		b = append(b, 0)
	}
	return b
}
