package mixer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tessera-mcu/tessera/codec"
)

// LayoutKind selects how tiles are arranged on the canvas.
type LayoutKind int

// Layouts.
const (
	// LayoutGrid arranges everyone in equal tiles, the grid chosen by count.
	LayoutGrid LayoutKind = iota
	// LayoutSpeaker shows the active speaker large and the others in a strip
	// along the bottom.
	LayoutSpeaker
	// LayoutPresentation has the geometry of LayoutSpeaker, but the large
	// tile belongs to a pinned participant (typically a screen share) and
	// does not follow the voice.
	LayoutPresentation
)

var layoutNames = [...]string{LayoutGrid: "grid", LayoutSpeaker: "speaker", LayoutPresentation: "presentation"}

// String is the layout's name as configuration files and the signaling API
// spell it.
func (k LayoutKind) String() string {
	if k < 0 || int(k) >= len(layoutNames) {
		return fmt.Sprintf("LayoutKind(%d)", int(k))
	}
	return layoutNames[k]
}

// ParseLayout is the inverse of String. It ignores case and surrounding
// blanks.
func ParseLayout(s string) (LayoutKind, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for k, n := range layoutNames {
		if n == name {
			return LayoutKind(k), nil
		}
	}
	return 0, fmt.Errorf("%w: layout %q (want grid, speaker or presentation)", ErrInvalidConfig, s)
}

// Geometry limits.
const (
	// MaxGridTiles is the largest grid, 5x5. Participants beyond it are not
	// shown in the grid layout.
	MaxGridTiles = 25
	// MaxStripTiles is how many participants the strip of the speaker and
	// presentation layouts shows besides the large tile.
	MaxStripTiles = 6

	tileGap = 4 // pixels between tiles; even, so tile origins stay even
)

// GridDims is the grid (columns, rows) used for n tiles: 1x1, 2x1, 2x2,
// 3x2, 3x3, 4x4 and 5x5 for up to 1, 2, 4, 6, 9, 16 and 25 tiles; more than
// 25 use 5x5 too. n <= 0 gives (0, 0).
func GridDims(n int) (cols, rows int) {
	switch {
	case n <= 0:
		return 0, 0
	case n == 1:
		return 1, 1
	case n == 2:
		return 2, 1
	case n <= 4:
		return 2, 2
	case n <= 6:
		return 3, 2
	case n <= 9:
		return 3, 3
	case n <= 16:
		return 4, 4
	}
	return 5, 5
}

// GridRects returns min(n, MaxGridTiles) equal tiles for a w x h canvas in
// row-major order, using the grid of GridDims. Tiles are separated by a
// few pixels and have even origins and sizes. A partly filled last row is
// centred horizontally, and when the grid has rows to spare (10 tiles on a
// 4x4 grid) the occupied rows are centred vertically.
func GridRects(w, h, n int) []codec.Rect {
	return appendGridRects(nil, w, h, n)
}

func appendGridRects(dst []codec.Rect, w, h, n int) []codec.Rect {
	n = min(n, MaxGridTiles)
	if n <= 0 || w < 2 || h < 2 {
		return dst
	}
	cols, rows := GridDims(n)
	gap := tileGap
	if n == 1 || (w-(cols-1)*gap)/cols < 4*gap || (h-(rows-1)*gap)/rows < 4*gap {
		gap = 0 // tiny canvas: every pixel counts
	}
	tw := ((w - (cols-1)*gap) / cols) &^ 1
	th := ((h - (rows-1)*gap) / rows) &^ 1
	if tw < 2 || th < 2 {
		return dst
	}
	used := (n + cols - 1) / cols // occupied rows
	x0 := ((w - cols*tw - (cols-1)*gap) / 2) &^ 1
	y0 := ((h - used*th - (used-1)*gap) / 2) &^ 1
	for i := range n {
		row, col := i/cols, i%cols
		x := x0 + col*(tw+gap)
		if row == used-1 {
			short := cols - (n - row*cols) // empty places in the last row
			x += (short * (tw + gap) / 2) &^ 1
		}
		dst = append(dst, codec.R(x, y0+row*(th+gap), tw, th))
	}
	return dst
}

// FeatureRects is the geometry of the speaker and presentation layouts:
// index 0 is the large tile, the full width of the canvas and about 77% of
// its height; the others, up to MaxStripTiles of them, form a centred strip
// along the bottom. It returns min(n, 1+MaxStripTiles) rectangles; n == 1
// is the whole canvas.
func FeatureRects(w, h, n int) []codec.Rect {
	return appendFeatureRects(nil, w, h, n)
}

func appendFeatureRects(dst []codec.Rect, w, h, n int) []codec.Rect {
	if n <= 0 || w < 2 || h < 2 {
		return dst
	}
	w, h = w&^1, h&^1
	if n == 1 {
		return append(dst, codec.R(0, 0, w, h))
	}
	m := min(n-1, MaxStripTiles)
	gap := tileGap
	if w < 16*gap || h < 16*gap {
		gap = 0
	}
	sh := max(2, (h*22/100)&^1) // strip height
	lh := h - sh - gap
	dst = append(dst, codec.R(0, 0, w, lh))
	tw := ((w - (m-1)*gap) / m) &^ 1
	tw = max(2, min(tw, (sh*16/9)&^1)) // no wider than 16:9
	x0 := ((w - m*tw - (m-1)*gap) / 2) &^ 1
	for i := range m {
		dst = append(dst, codec.R(x0+i*(tw+gap), h-sh, tw, sh))
	}
	return dst
}

// appendComplement appends rectangles covering the part of bounds that no
// rectangle of rs covers. It cuts the canvas into horizontal bands at every
// edge of rs and walks each band from left to right. The compositor uses it
// to paint the background between tiles only, not under them.
func appendComplement(dst []codec.Rect, bounds codec.Rect, rs []codec.Rect) []codec.Rect {
	ys := []int{bounds.Y0, bounds.Y1}
	for _, r := range rs {
		r = r.Intersect(bounds)
		if !r.Empty() {
			ys = append(ys, r.Y0, r.Y1)
		}
	}
	slices.Sort(ys)
	ys = slices.Compact(ys)
	var band []codec.Rect
	for i := 0; i+1 < len(ys); i++ {
		y0, y1 := ys[i], ys[i+1]
		band = band[:0]
		for _, r := range rs {
			r = r.Intersect(bounds)
			if !r.Empty() && r.Y0 <= y0 && r.Y1 >= y1 {
				band = append(band, r)
			}
		}
		slices.SortFunc(band, func(a, b codec.Rect) int { return a.X0 - b.X0 })
		x := bounds.X0
		for _, r := range band {
			if r.X0 > x {
				dst = append(dst, codec.Rect{X0: x, Y0: y0, X1: r.X0, Y1: y1})
			}
			x = max(x, r.X1)
		}
		if x < bounds.X1 {
			dst = append(dst, codec.Rect{X0: x, Y0: y0, X1: bounds.X1, Y1: y1})
		}
	}
	return dst
}
