package g711

import (
	"math"
	"testing"
)

func TestKnownCodes(t *testing.T) {
	for _, c := range []struct {
		name string
		got  any
		want any
	}{
		{"EncodeULaw(0)", EncodeULaw(0), byte(0xff)},
		{"EncodeULaw(-1)", EncodeULaw(-1), byte(0x7f)},
		{"EncodeULaw(32767)", EncodeULaw(32767), byte(0x80)},
		{"EncodeULaw(-32768)", EncodeULaw(-32768), byte(0x00)},
		{"DecodeULaw(0xff)", DecodeULaw(0xff), int16(0)},
		{"DecodeULaw(0x7f)", DecodeULaw(0x7f), int16(0)},
		{"DecodeULaw(0xfe)", DecodeULaw(0xfe), int16(8)},
		{"DecodeULaw(0x80)", DecodeULaw(0x80), int16(32124)},
		{"DecodeULaw(0x00)", DecodeULaw(0x00), int16(-32124)},
		{"DecodeULaw(0xef)", DecodeULaw(0xef), int16(132)}, // first step of segment 1
		{"EncodeALaw(0)", EncodeALaw(0), byte(0xd5)},
		{"EncodeALaw(-1)", EncodeALaw(-1), byte(0x55)},
		{"EncodeALaw(32767)", EncodeALaw(32767), byte(0xaa)},
		{"EncodeALaw(-32768)", EncodeALaw(-32768), byte(0x2a)},
		{"DecodeALaw(0xd5)", DecodeALaw(0xd5), int16(8)},
		{"DecodeALaw(0x55)", DecodeALaw(0x55), int16(-8)},
		{"DecodeALaw(0xaa)", DecodeALaw(0xaa), int16(32256)},
		{"DecodeALaw(0x2a)", DecodeALaw(0x2a), int16(-32256)},
		{"DecodeALaw(0xc5)", DecodeALaw(0xc5), int16(264)}, // first step of segment 1
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// step is the width, in 16-bit units, of the quantisation interval code c
// stands for.
func step(l Law, c byte) int {
	if l == ULaw {
		return 8 << ((^c >> 4) & 7)
	}
	return 8 << max((c^0x55)>>4&7, 1)
}

// Every 16-bit input comes back within half its interval (plus the low bits
// the law drops), except where µ-law clips above its largest level.
func TestQuantisationError(t *testing.T) {
	for _, l := range []Law{ULaw, ALaw} {
		enc, dec := EncodeULaw, DecodeULaw
		dropped := 4 // µ-law keeps 14 bits
		if l == ALaw {
			enc, dec, dropped = EncodeALaw, DecodeALaw, 8
		}
		worst := 0.0
		for x := math.MinInt16; x <= math.MaxInt16; x++ {
			c := enc(int16(x))
			y := int(dec(c))
			err := abs(x - y)
			bound := step(l, c)/2 + dropped
			if l == ULaw && abs(y) == 32124 {
				bound = step(l, c) // clipped: up to 643 off
			}
			if err > bound {
				t.Fatalf("%v: %d -> %#02x -> %d, error %d > %d", l, x, c, y, err, bound)
			}
			if abs(x) > 256 {
				worst = max(worst, float64(err)/float64(abs(x)))
			}
		}
		t.Logf("%v: worst relative error above 256: %.1f%%", l, 100*worst)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Decoding a code and encoding the result gives the code back, for all 256
// codes, except µ-law's negative zero, which encodes as positive zero.
func TestCodeRoundTrip(t *testing.T) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		if got := EncodeULaw(DecodeULaw(b)); got != b && b != 0x7f {
			t.Errorf("µ-law %#02x -> %d -> %#02x", b, DecodeULaw(b), got)
		}
		if got := EncodeALaw(DecodeALaw(b)); got != b {
			t.Errorf("A-law %#02x -> %d -> %#02x", b, DecodeALaw(b), got)
		}
		// The sign bit mirrors the value.
		if DecodeULaw(b) != -DecodeULaw(b^0x80) || DecodeALaw(b) != -DecodeALaw(b^0x80) {
			t.Errorf("code %#02x is not the mirror of %#02x", b, b^0x80)
		}
	}
	if got := EncodeULaw(DecodeULaw(0x7f)); got != 0xff {
		t.Errorf("µ-law negative zero re-encodes as %#02x, want 0xff", got)
	}
	// Decoded levels rise steadily with the magnitude bits.
	for c := 0x80; c < 0xff; c++ {
		// µ-law: inverted, so 0xff is the smallest positive level.
		if DecodeULaw(byte(c)) <= DecodeULaw(byte(c+1)) {
			t.Fatalf("µ-law not monotonic at %#02x", c)
		}
	}
	for m := 0; m < 127; m++ {
		if DecodeALaw(byte(0x80|m)^0x55) >= DecodeALaw(byte(0x80|(m+1))^0x55) {
			t.Fatalf("A-law not monotonic at magnitude %d", m)
		}
	}
}
