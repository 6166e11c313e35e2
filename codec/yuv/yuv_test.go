package yuv

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
)

// quadrants returns a w x h picture with four solid coloured quadrants.
func quadrants(w, h int, c [4]codec.YUV) *codec.Frame {
	f := codec.NewFrame(w, h)
	hw, hh := w/2, h/2
	f.FillRect(codec.R(0, 0, hw, hh), c[0])
	f.FillRect(codec.R(hw, 0, w-hw, hh), c[1])
	f.FillRect(codec.R(0, hh, hw, h-hh), c[2])
	f.FillRect(codec.R(hw, hh, w-hw, h-hh), c[3])
	return f
}

var colours = [4]codec.YUV{codec.RGB(220, 30, 30), codec.RGB(30, 200, 40), codec.RGB(30, 40, 220), codec.RGB(240, 240, 30)}

func TestScaleKeepsLayout(t *testing.T) {
	for _, tc := range []struct{ sw, sh, dw, dh int }{
		{1280, 720, 426, 240}, {640, 360, 1280, 720}, {320, 240, 641, 359},
	} {
		t.Run(fmt.Sprintf("%dx%d->%dx%d", tc.sw, tc.sh, tc.dw, tc.dh), func(t *testing.T) {
			src := quadrants(tc.sw, tc.sh, colours)
			for _, f := range []Filter{Nearest, Bilinear, Box} {
				dst := codec.NewFrame(tc.dw, tc.dh)
				if err := Scale(dst, src, f); err != nil {
					t.Fatal(err)
				}
				// Sample the middle of each quadrant, away from the edges.
				qw, qh := tc.dw/2, tc.dh/2
				for i, c := range colours {
					x, y := (i%2)*qw+qw/4, (i/2)*qh+qh/4
					if got := dst.Mean(codec.R(x, y, qw/2, qh/2)); got.Distance(c) > 3 {
						t.Errorf("filter %d quadrant %d = %+v, want %+v", f, i, got, c)
					}
				}
			}
		})
	}
}

func TestScaleRectDrawsOnlyInsideTile(t *testing.T) {
	canvas := codec.NewFrame(640, 360)
	bg := codec.RGB(10, 10, 10)
	canvas.Fill(bg)
	src := quadrants(320, 180, colours)
	tile := codec.R(320, 180, 320, 180)
	if err := ScaleRect(canvas, tile, src, Bilinear); err != nil {
		t.Fatal(err)
	}
	if got := canvas.Mean(codec.R(0, 0, 320, 180)); got.Distance(bg) > 1 {
		t.Fatalf("outside tile changed: %+v", got)
	}
	if got := canvas.Mean(codec.R(330, 190, 140, 70)); got.Distance(colours[0]) > 3 {
		t.Fatalf("tile top-left = %+v, want %+v", got, colours[0])
	}
	if got := canvas.Mean(codec.R(490, 280, 140, 70)); got.Distance(colours[3]) > 3 {
		t.Fatalf("tile bottom-right = %+v, want %+v", got, colours[3])
	}
}

func TestScaleRectRejectsBadRects(t *testing.T) {
	canvas := codec.NewFrame(64, 64)
	src := codec.NewFrame(16, 16)
	for _, r := range []codec.Rect{codec.R(60, 0, 16, 16), codec.R(1, 0, 16, 16), {}} {
		if err := ScaleRect(canvas, r, src, Box); !errors.Is(err, codec.ErrFrameSize) {
			t.Errorf("rect %v: err = %v, want ErrFrameSize", r, err)
		}
	}
	if err := Scale(canvas, src, Filter(9)); !errors.Is(err, codec.ErrInvalidConfig) {
		t.Errorf("bad filter: err = %v", err)
	}
}

func TestScaleAllocatesNothing(t *testing.T) {
	src := codec.NewFrame(1280, 720)
	codectest.MovingPicture(src, 1)
	dst := codec.NewFrame(640, 360)
	if n := testing.AllocsPerRun(20, func() { _ = Scale(dst, src, Box) }); n != 0 {
		t.Fatalf("Scale allocates %.1f times per call", n)
	}
}

// BenchmarkScale covers the ratios the compositor meets (tiles of the
// 2x2, 3x3 and 4x4 grids at 1280x720, the speaker's feature tile, the
// tiers) with each filter worth having, to pick a filter per ratio.
func BenchmarkScale(b *testing.B) {
	sizes := []struct{ sw, sh, dw, dh int }{
		{640, 360, 640, 360},  // 2x2 grid tile: a copy
		{640, 360, 424, 238},  // 3x3 grid tile (1.5:1)
		{640, 360, 320, 180},  // 4x4 grid tile (2:1)
		{1280, 720, 424, 238}, // a 720p camera in a 3x3 tile (3:1)
		{1280, 720, 640, 360}, // the second tier (2:1)
		{640, 360, 1072, 604}, // the speaker's feature tile (upscale)
	}
	for _, sz := range sizes {
		for _, f := range []Filter{Nearest, Linear, Bilinear, Box} {
			name := fmt.Sprintf("%dx%d->%dx%d/%s", sz.sw, sz.sh, sz.dw, sz.dh, map[Filter]string{Nearest: "nearest", Linear: "linear", Bilinear: "bilinear", Box: "box"}[f])
			b.Run(name, func(b *testing.B) {
				src := codec.NewFrame(sz.sw, sz.sh)
				codectest.MovingPicture(src, 7)
				dst := codec.NewFrame(sz.dw, sz.dh)
				b.ReportAllocs()
				for b.Loop() {
					if err := Scale(dst, src, f); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
