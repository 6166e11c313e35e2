package testpeer

import (
	"testing"

	"github.com/tessera-mcu/tessera/codec"
)

func TestCounterRoundTrip(t *testing.T) {
	f := codec.NewFrame(320, 180)
	for _, n := range []int{0, 1, 77, 4095, 4096 + 5} {
		f.Fill(codec.RGB(40, 90, 200))
		DrawCounter(f, n)
		got, ok := ReadCounter(f)
		if !ok || got != n%4096 {
			t.Fatalf("counter %d read as %d, %v", n, got, ok)
		}
	}
	f.Fill(codec.RGB(40, 90, 200))
	if _, ok := ReadCounter(f); ok {
		t.Fatal("counter read from a plain picture")
	}
}
