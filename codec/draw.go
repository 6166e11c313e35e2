package codec

// YUV is one BT.601 limited-range colour.
type YUV struct{ Y, U, V uint8 }

// Common colours.
var (
	Black = YUV{16, 128, 128}
	White = YUV{235, 128, 128}
)

// RGB converts full-range 8-bit RGB to BT.601 limited-range YUV.
func RGB(r, g, b uint8) YUV {
	R, G, B := int32(r), int32(g), int32(b)
	y := (66*R+129*G+25*B+128)>>8 + 16
	u := (-38*R-74*G+112*B+128)>>8 + 128
	v := (112*R-94*G-18*B+128)>>8 + 128
	return YUV{clamp8(y), clamp8(u), clamp8(v)}
}

func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// Rect is a pixel rectangle, Min inclusive, Max exclusive.
type Rect struct{ X0, Y0, X1, Y1 int }

// R is shorthand for Rect{x, y, x+w, y+h}.
func R(x, y, w, h int) Rect { return Rect{x, y, x + w, y + h} }

// Dx is the rectangle's width.
func (r Rect) Dx() int { return r.X1 - r.X0 }

// Dy is the rectangle's height.
func (r Rect) Dy() int { return r.Y1 - r.Y0 }

// Empty reports whether the rectangle holds no pixel.
func (r Rect) Empty() bool { return r.X0 >= r.X1 || r.Y0 >= r.Y1 }

// Intersect is the part of r inside s.
func (r Rect) Intersect(s Rect) Rect {
	r.X0, r.Y0 = max(r.X0, s.X0), max(r.Y0, s.Y0)
	r.X1, r.Y1 = min(r.X1, s.X1), min(r.Y1, s.Y1)
	if r.Empty() {
		return Rect{}
	}
	return r
}

// Bounds is the whole picture.
func (f *Frame) Bounds() Rect { return Rect{0, 0, f.Width, f.Height} }

// Fill paints the whole picture with c.
func (f *Frame) Fill(c YUV) { f.FillRect(f.Bounds(), c) }

// FillRect paints r (clipped to the picture) with c. Chroma is painted for
// every 2x2 block the rectangle touches, so keep edges even for exact
// colour boundaries.
func (f *Frame) FillRect(r Rect, c YUV) {
	r = r.Intersect(f.Bounds())
	if r.Empty() {
		return
	}
	for y := r.Y0; y < r.Y1; y++ {
		row := f.Y[y*f.Width+r.X0 : y*f.Width+r.X1]
		for i := range row {
			row[i] = c.Y
		}
	}
	cw := f.ChromaWidth()
	cx0, cy0, cx1, cy1 := r.X0/2, r.Y0/2, (r.X1+1)/2, (r.Y1+1)/2
	for y := cy0; y < cy1; y++ {
		u := f.U[y*cw+cx0 : y*cw+cx1]
		v := f.V[y*cw+cx0 : y*cw+cx1]
		for i := range u {
			u[i] = c.U
			v[i] = c.V
		}
	}
}

// Blit copies src into f with src's top-left corner at (x, y), clipped to
// f. x and y are rounded down to even numbers so chroma stays aligned.
func (f *Frame) Blit(src *Frame, x, y int) {
	x, y = x&^1, y&^1
	dst := R(x, y, src.Width, src.Height).Intersect(f.Bounds())
	if dst.Empty() {
		return
	}
	sx, sy := dst.X0-x, dst.Y0-y
	w := dst.Dx()
	for row := 0; row < dst.Dy(); row++ {
		d := (dst.Y0+row)*f.Width + dst.X0
		s := (sy+row)*src.Width + sx
		copy(f.Y[d:d+w], src.Y[s:s+w])
	}
	fcw, scw := f.ChromaWidth(), src.ChromaWidth()
	cw := (dst.X1+1)/2 - dst.X0/2
	cw = min(cw, scw-sx/2)
	for row := 0; row < (dst.Dy()+1)/2 && sy/2+row < src.ChromaHeight(); row++ {
		d := (dst.Y0/2+row)*fcw + dst.X0/2
		s := (sy/2+row)*scw + sx/2
		copy(f.U[d:d+cw], src.U[s:s+cw])
		copy(f.V[d:d+cw], src.V[s:s+cw])
	}
}

// At is the colour of pixel (x, y).
func (f *Frame) At(x, y int) YUV {
	c := (y/2)*f.ChromaWidth() + x/2
	return YUV{f.Y[y*f.Width+x], f.U[c], f.V[c]}
}

// Mean is the average colour of r (clipped to the picture).
func (f *Frame) Mean(r Rect) YUV {
	r = r.Intersect(f.Bounds())
	if r.Empty() {
		return YUV{}
	}
	var sy, su, sv, n, nc int
	for y := r.Y0; y < r.Y1; y++ {
		for x := r.X0; x < r.X1; x++ {
			sy += int(f.Y[y*f.Width+x])
			n++
		}
	}
	cw := f.ChromaWidth()
	for y := r.Y0 / 2; y < (r.Y1+1)/2; y++ {
		for x := r.X0 / 2; x < (r.X1+1)/2; x++ {
			su += int(f.U[y*cw+x])
			sv += int(f.V[y*cw+x])
			nc++
		}
	}
	return YUV{uint8(sy / n), uint8(su / nc), uint8(sv / nc)}
}

// Distance is the largest per-component difference between two colours.
func (c YUV) Distance(o YUV) int {
	d := func(a, b uint8) int {
		if a > b {
			return int(a - b)
		}
		return int(b - a)
	}
	return max(d(c.Y, o.Y), d(c.U, o.U), d(c.V, o.V))
}
