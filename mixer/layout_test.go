package mixer

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tessera-mcu/tessera/codec"
)

func TestGridDims(t *testing.T) {
	// The grid for each count, as the layouts are specified: 1, 2 side by
	// side, 2x2, 3x2, 3x3, 4x4, 5x5 (columns x rows).
	want := map[int][2]int{
		1: {1, 1}, 2: {2, 1}, 3: {2, 2}, 4: {2, 2}, 5: {3, 2}, 6: {3, 2},
		7: {3, 3}, 9: {3, 3}, 10: {4, 4}, 16: {4, 4}, 17: {5, 5}, 25: {5, 5}, 30: {5, 5},
	}
	for n, w := range want {
		if c, r := GridDims(n); c != w[0] || r != w[1] {
			t.Errorf("GridDims(%d) = %dx%d, want %dx%d", n, c, r, w[0], w[1])
		}
	}
	for n := 1; n <= 30; n++ {
		c, r := GridDims(n)
		if n <= MaxGridTiles && c*r < n {
			t.Errorf("GridDims(%d) = %dx%d holds fewer tiles", n, c, r)
		}
		if pc, pr := GridDims(n - 1); n > 1 && c*r < pc*pr {
			t.Errorf("GridDims(%d) = %dx%d is smaller than for %d", n, c, r, n-1)
		}
	}
	if c, r := GridDims(0); c != 0 || r != 0 {
		t.Errorf("GridDims(0) = %dx%d", c, r)
	}
}

// checkTiling verifies rectangles lie in the canvas, have even origins and
// sizes, and do not overlap.
func checkTiling(t *testing.T, w, h int, rs []codec.Rect) {
	t.Helper()
	canvas := codec.R(0, 0, w, h)
	for i, r := range rs {
		if r.Empty() || r.Intersect(canvas) != r {
			t.Errorf("rect %d %v outside %dx%d", i, r, w, h)
		}
		if r.X0%2 != 0 || r.Y0%2 != 0 || r.Dx()%2 != 0 || r.Dy()%2 != 0 {
			t.Errorf("rect %d %v not even", i, r)
		}
		for j := range i {
			if !r.Intersect(rs[j]).Empty() {
				t.Errorf("rects %d %v and %d %v overlap", j, rs[j], i, r)
			}
		}
	}
}

func TestGridRects(t *testing.T) {
	for _, size := range [][2]int{{1280, 720}, {640, 360}, {1920, 1080}, {720, 1280}, {16, 16}} {
		w, h := size[0], size[1]
		for n := 1; n <= 30; n++ {
			t.Run(fmt.Sprintf("%dx%d/%d", w, h, n), func(t *testing.T) {
				rs := GridRects(w, h, n)
				if len(rs) != min(n, MaxGridTiles) {
					t.Fatalf("%d rects, want %d", len(rs), min(n, MaxGridTiles))
				}
				checkTiling(t, w, h, rs)
				cols, rows := GridDims(n)
				for i, r := range rs {
					// Equal tiles, each close to a grid cell's size.
					if r.Dx() != rs[0].Dx() || r.Dy() != rs[0].Dy() {
						t.Errorf("rect %d %v differs in size from %v", i, r, rs[0])
					}
					if w >= 640 && (r.Dx() < w/cols*95/100 || r.Dy() < h/rows*95/100 || r.Dx() > w/cols || r.Dy() > h/rows) {
						t.Errorf("rect %d %v far from the %dx%d cell of %dx%d", i, r, w/cols, h/rows, cols, rows)
					}
					// Row-major: each tile is right of its predecessor on
					// the same row, or on a lower row.
					if i > 0 {
						p := rs[i-1]
						if !(r.Y0 == p.Y0 && r.X0 >= p.X1) && !(r.Y0 >= p.Y1) {
							t.Errorf("rect %d %v does not follow %v in row-major order", i, r, p)
						}
					}
				}
				// The columns used equal the grid's, and rows no more.
				xs, ys := map[int]bool{}, map[int]bool{}
				for _, r := range rs {
					xs[r.X0], ys[r.Y0] = true, true
				}
				if len(rs) >= cols && len(xs) < cols {
					t.Errorf("%d distinct columns, want %d", len(xs), cols)
				}
				if len(ys) > rows {
					t.Errorf("%d distinct rows, grid has %d", len(ys), rows)
				}
			})
		}
	}
	// Five participants: three columns, two rows, the last row centred.
	rs := GridRects(1280, 720, 5)
	if rs[0].Y0 != rs[2].Y0 || rs[3].Y0 != rs[4].Y0 || rs[3].Y0 <= rs[0].Y0 {
		t.Fatalf("5 tiles not in 3+2 rows: %v", rs)
	}
	if left, right := rs[3].X0, 1280-rs[4].X1; abs(left-right) > 2 {
		t.Fatalf("last row of 5 not centred: %v", rs[3:])
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestFeatureRects(t *testing.T) {
	if rs := FeatureRects(1280, 720, 1); len(rs) != 1 || rs[0] != codec.R(0, 0, 1280, 720) {
		t.Fatalf("one participant: %v, want the whole canvas", rs)
	}
	for _, size := range [][2]int{{1280, 720}, {640, 360}, {1920, 1080}, {16, 16}} {
		w, h := size[0], size[1]
		for n := 2; n <= 12; n++ {
			rs := FeatureRects(w, h, n)
			if len(rs) != min(n, 1+MaxStripTiles) {
				t.Fatalf("%dx%d n=%d: %d rects", w, h, n, len(rs))
			}
			checkTiling(t, w, h, rs)
			big := rs[0]
			if big.Dx() != w || big.Dy() < h*72/100 || (w >= 640 && big.Dy() > h*82/100) {
				t.Errorf("%dx%d n=%d: large tile %v", w, h, n, big)
			}
			for _, r := range rs[1:] {
				if r.Y0 < big.Y1 || r.Dy() != rs[1].Dy() || r.Dx() != rs[1].Dx() || r.Y1 != h {
					t.Errorf("%dx%d n=%d: strip tile %v", w, h, n, r)
				}
			}
		}
	}
}

func TestComplementCoversTheRest(t *testing.T) {
	const w, h = 96, 64
	for _, rs := range [][]codec.Rect{
		nil,
		GridRects(w, h, 5),
		FeatureRects(w, h, 4),
		{codec.R(10, 10, 20, 20), codec.R(20, 20, 40, 30), codec.R(-10, 50, 200, 40)},
	} {
		var cover [h][w]int
		for _, r := range rs {
			r = r.Intersect(codec.R(0, 0, w, h))
			for y := r.Y0; y < r.Y1; y++ {
				for x := r.X0; x < r.X1; x++ {
					cover[y][x] = 1 // overlapping inputs are allowed
				}
			}
		}
		for _, r := range appendComplement(nil, codec.R(0, 0, w, h), rs) {
			for y := r.Y0; y < r.Y1; y++ {
				for x := r.X0; x < r.X1; x++ {
					cover[y][x]++
				}
			}
		}
		for y := range h {
			for x := range w {
				if cover[y][x] != 1 {
					t.Fatalf("rects %v: pixel (%d,%d) covered %d times", rs, x, y, cover[y][x])
				}
			}
		}
	}
}

func TestParseLayout(t *testing.T) {
	for _, k := range []LayoutKind{LayoutGrid, LayoutSpeaker, LayoutPresentation} {
		got, err := ParseLayout(" " + k.String() + " ")
		if err != nil || got != k {
			t.Errorf("ParseLayout(%q) = %v, %v", k.String(), got, err)
		}
	}
	if got, err := ParseLayout("Speaker"); err != nil || got != LayoutSpeaker {
		t.Errorf("ParseLayout(Speaker) = %v, %v", got, err)
	}
	if _, err := ParseLayout("mosaic"); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("ParseLayout(mosaic) err = %v", err)
	}
	if s := LayoutKind(7).String(); s != "LayoutKind(7)" {
		t.Errorf("unknown kind = %q", s)
	}
}
