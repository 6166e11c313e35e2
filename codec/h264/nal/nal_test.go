package nal

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

func TestIterAndTypes(t *testing.T) {
	// AUD, SPS (4-byte start code), PPS, IDR with trailing zeros, junk
	// before the first start code.
	b := []byte{0xff, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xce, 0, 0, 1, 0x65, 0x88, 0x84, 0, 0}
	var types []int
	var units [][]byte
	it := NewIter(b)
	for u, ok := it.Next(); ok; u, ok = it.Next() {
		types = append(types, Type(u))
		units = append(units, u)
	}
	if want := []int{AUD, SPS, PPS, IDR}; !equal(types, want) {
		t.Fatalf("types %v, want %v", types, want)
	}
	if !bytes.Equal(units[3], []byte{0x65, 0x88, 0x84}) || !bytes.Equal(units[1], []byte{0x67, 0x42}) {
		t.Fatalf("units %x", units)
	}
	if !ContainsIDR(b) || ContainsIDR(b[:19]) || ContainsIDR(nil) {
		t.Fatal("ContainsIDR")
	}
	if n := NewIter([]byte{1, 2, 3}); func() bool { _, ok := n.Next(); return ok }() {
		t.Fatal("unit found without a start code")
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestIndexStartCode compares the start code search with a plain one on
// data dense in zeros and ones.
func TestIndexStartCode(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.IntN(3))
		}
		if got, want := IndexStartCode(b), bytes.Index(b, []byte{0, 0, 1}); got != want {
			t.Fatalf("IndexStartCode(% x) = %d, want %d", b, got, want)
		}
	}
}

func TestUnescape(t *testing.T) {
	in, _ := hex.DecodeString("0000030100000302000003")
	want, _ := hex.DecodeString("0000010000020000")
	if got := Unescape(in); !bytes.Equal(got, want) {
		t.Fatalf("Unescape = %x, want %x", got, want)
	}
}

func TestExpGolomb(t *testing.T) {
	// 1 | 010 | 011 | 00100 | 0000 1111 0 -> 0, 1, 2, 3, 14
	r := NewBitReader([]byte{0b10100110, 0b01000001, 0b11100000})
	for _, want := range []int{0, 1, 2, 3, 14} {
		if got, ok := r.UE(); !ok || got != want {
			t.Fatalf("UE = %d %v, want %d", got, ok, want)
		}
	}
	if _, ok := NewBitReader([]byte{0, 0, 0, 0, 0}).UE(); ok {
		t.Fatal("a code longer than 31 bits was read")
	}
}

func FuzzIter(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0x65, 0, 0, 0, 1, 0x41, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		it := NewIter(b)
		total := 0
		for u, ok := it.Next(); ok; u, ok = it.Next() {
			if len(u) == 0 || u[len(u)-1] == 0 {
				t.Fatalf("unit %x", u)
			}
			total += len(u)
		}
		if total > len(b) {
			t.Fatal("units longer than the input")
		}
		r := NewBitReader(b)
		for range 64 {
			if _, ok := r.UE(); !ok {
				break
			}
		}
	})
}
