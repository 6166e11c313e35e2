package record

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestVint(t *testing.T) {
	cases := []struct {
		v    uint64
		want string
	}{
		{0, "80"},
		{1, "81"},
		{126, "fe"},
		{127, "407f"}, // 0xff would be "unknown"
		{128, "4080"},
		{16382, "7ffe"},
		{16383, "203fff"},
		{1<<21 - 2, "3ffffe"},
		{1<<21 - 1, "101fffff"},
		{1<<28 - 2, "1ffffffe"},
		{1<<28 - 1, "080fffffff"},
		{maxVint, "01fffffffffffffe"},
	}
	for _, c := range cases {
		got := hex.EncodeToString(appendVint(nil, c.v))
		if got != c.want {
			t.Errorf("vint(%d) = %s, want %s", c.v, got, c.want)
		}
		if n := vintLen(c.v); n != len(c.want)/2 {
			t.Errorf("vintLen(%d) = %d, want %d", c.v, n, len(c.want)/2)
		}
	}
	if got := hex.EncodeToString(appendVintN(nil, 5, 8)); got != "0100000000000005" {
		t.Errorf("8-byte vint 5 = %s", got)
	}
	if got := hex.EncodeToString(appendVintN(nil, unknownValue, 8)); got != "01ffffffffffffff" {
		t.Errorf("unknown size = %s", got)
	}
	if got := hex.EncodeToString(appendVintN(nil, 2, 2)); got != "4002" {
		t.Errorf("2-byte vint 2 = %s", got)
	}
	var b [8]byte
	putVint8(b[:], 0x123456)
	if got := hex.EncodeToString(b[:]); got != "0100000000123456" {
		t.Errorf("putVint8 = %s", got)
	}
}

func TestElements(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"uint 0", appendUint(nil, idTimestamp, 0), "e78100"},
		{"uint 1000000", appendUint(nil, idTimestampScale, 1000000), "2ad7b1830f4240"},
		{"uint 256", appendUint(nil, idPixelWidth, 256), "b0820100"},
		{"uint fixed", appendUintN(nil, idSeekPosition, 0x1234, 8), "53ac880000000000001234"},
		{"float", appendFloat(nil, idDuration, 15000), "448988" + "40cd4c0000000000"},
		{"string", appendString(nil, idDocType, "webm"), "428284" + hex.EncodeToString([]byte("webm"))},
		{"binary", appendBinary(nil, idCodecPrivate, []byte{1, 2}), "63a2820102"},
		{"int8", appendInt8(nil, idDateUTC, -1), "446188ffffffffffffffff"},
		{"id 4", appendID(nil, idSegment), "18538067"},
		{"id 3", appendID(nil, idTimestampScale), "2ad7b1"},
		{"id 1", appendID(nil, idSimpleBlock), "a3"},
		{"master", appendMaster(nil, idVideo, func(b []byte) []byte {
			b = appendUint(b, idPixelWidth, 320)
			return appendUint(b, idPixelHeight, 180)
		}), "e087" + "b0820140" + "ba81b4"},
		{"void 2", appendVoid(nil, 2), "ec80"},
		{"void 11", appendVoid(nil, 11), "ec89000000000000000000"},
	}
	for _, c := range cases {
		if got := hex.EncodeToString(c.b); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	// A master element whose body needs a 2-byte size.
	big := appendMaster(nil, idCodecPrivate, func(b []byte) []byte { return append(b, make([]byte, 200)...) })
	if !bytes.HasPrefix(big, []byte{0x63, 0xa2, 0x40, 200}) || len(big) != 4+200 {
		t.Errorf("200-byte master: % x...", big[:6])
	}
	// Void of every size fills exactly and parses as one element.
	for n := 2; n < 20000; n += 1 + n/8 {
		v := appendVoid(nil, n)
		if len(v) != n {
			t.Fatalf("appendVoid(%d) is %d bytes", n, len(v))
		}
		e, err := readElemHeader(v, 0)
		if err != nil || e.id != idVoid || e.data+e.size != n {
			t.Fatalf("appendVoid(%d): %+v %v", n, e, err)
		}
	}
}
