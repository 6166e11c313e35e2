package codec

import "testing"

func TestPoolReusesFrames(t *testing.T) {
	p := NewFramePool(4)
	f := p.Get(640, 360)
	if len(f.Y) != 640*360 || len(f.U) != 320*180 || len(f.V) != 320*180 {
		t.Fatalf("plane sizes %d %d %d", len(f.Y), len(f.U), len(f.V))
	}
	f.Retain()
	f.Release()
	f.Release()
	g := p.Get(640, 360)
	if g != f {
		t.Fatal("released frame was not reused")
	}
	if p.Allocs() != 1 || p.Reuses() != 1 {
		t.Fatalf("allocs=%d reuses=%d", p.Allocs(), p.Reuses())
	}
	g.Release()
}

func TestPoolZeroAllocsSteadyState(t *testing.T) {
	p := NewFramePool(4)
	p.Get(1280, 720).Release() // warm
	src := NewFrame(1280, 720)
	n := testing.AllocsPerRun(100, func() {
		f := p.Get(1280, 720)
		_ = f.CopyFrom(src)
		f.Retain()
		f.Release()
		f.Release()
	})
	if n != 0 {
		t.Fatalf("%.1f allocations per frame, want 0", n)
	}
}

func TestPoolDropsBeyondLimit(t *testing.T) {
	p := NewFramePool(2)
	var fs []*Frame
	for range 5 {
		fs = append(fs, p.Get(32, 32))
	}
	for _, f := range fs {
		f.Release()
	}
	if got := len(p.free[[2]int{32, 32}]); got != 2 {
		t.Fatalf("idle frames kept = %d, want 2", got)
	}
}

func TestOverReleasePanics(t *testing.T) {
	p := NewFramePool(1)
	f := p.Get(16, 16)
	f.Release()
	defer func() {
		if recover() == nil {
			t.Fatal("second Release did not panic")
		}
	}()
	f.Release()
}

func TestFillBlitMean(t *testing.T) {
	canvas := NewFrame(100, 60)
	red, blue := RGB(230, 20, 20), RGB(20, 20, 230)
	canvas.Fill(red)
	tile := NewFrame(30, 20)
	tile.Fill(blue)
	canvas.Blit(tile, 11, 9) // rounds to (10, 8)
	if got := canvas.Mean(R(10, 8, 30, 20)); got != blue {
		t.Fatalf("tile = %+v, want %+v", got, blue)
	}
	if got := canvas.At(9, 8); got.Distance(red) > 0 {
		t.Fatalf("left of tile = %+v", got)
	}
	if got := canvas.At(40, 28); got != red {
		t.Fatalf("past tile = %+v", got)
	}
	// Clipped at the right and bottom edges.
	canvas.Blit(tile, 90, 50)
	if got := canvas.Mean(R(90, 50, 10, 10)); got != blue {
		t.Fatalf("clipped tile = %+v", got)
	}
	// Entirely outside: no panic, no change.
	canvas.Blit(tile, 200, 200)
	canvas.Blit(tile, -100, -100)
}

func TestRGBPrimaries(t *testing.T) {
	if c := RGB(0, 0, 0); c != Black {
		t.Fatalf("black = %+v", c)
	}
	if c := RGB(255, 255, 255); c.Distance(White) > 1 {
		t.Fatalf("white = %+v", c)
	}
	if c := RGB(255, 0, 0); c.Distance(YUV{82, 90, 240}) > 1 {
		t.Fatalf("red = %+v", c)
	}
}
