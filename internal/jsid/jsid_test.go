package jsid

import "testing"

func TestNewInRange(t *testing.T) {
	seen := make(map[uint64]bool)
	var or uint64
	for range 10000 {
		id := New()
		if id == 0 || id > Max {
			t.Fatalf("ID %d outside 1..2^53-1", id)
		}
		if seen[id] {
			t.Fatalf("ID %d drawn twice in 10000", id)
		}
		seen[id] = true
		or |= id
	}
	if or != Max {
		t.Errorf("the IDs never set some of the low 53 bits: %#x", or)
	}
}
