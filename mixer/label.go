package mixer

import (
	"fmt"
	"image"
	"math"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/tessera-mcu/tessera/codec"
)

// Text is rendered once per (text, size) into an 8-bit coverage mask with
// a pure-Go rasterizer and cached; each frame only blends the cached mask
// into the canvas, which costs a few microseconds per label and allocates
// nothing. The font is Go Medium, which covers Latin, Greek and Cyrillic;
// other scripts show as empty boxes.

// Label geometry.
const (
	labelMargin  = 8   // from the picture's bottom-left corner; even
	labelMinPx   = 12  // smallest text, in pixels
	labelMaxPx   = 28  // largest text, in pixels
	labelDivisor = 14  // text size is the picture height over this
	labelKeep    = 100 // the box keeps labelKeep/256 of the picture under it
	initialsMax  = 160 // largest placeholder initials, in pixels

	textY = 235 // white, limited range
)

// labelPx is the text size of the label of a picture th pixels high.
func labelPx(th int) int { return min(max(th/labelDivisor, labelMinPx), labelMaxPx) }

var labelFont = sync.OnceValues(func() (*opentype.Font, error) {
	return opentype.Parse(gomedium.TTF)
})

// mask is rendered text: coverage for luma and, at half resolution, for
// chroma, where each sample takes the largest coverage of its 2x2 block so
// that text edges come out neutral rather than tinted. Width and height
// are even, so a mask at an even origin covers whole chroma samples.
type mask struct {
	w, h int
	a    []byte // w*h
	ca   []byte // (w/2)*(h/2)
	used uint64 // compositor frame that last drew it
}

// text renders text cache misses. It keeps one font face per size. It is
// not safe for concurrent use; each compositor owns one.
type text struct {
	font  *opentype.Font
	faces map[int]font.Face
}

func newText() (*text, error) {
	f, err := labelFont()
	if err != nil {
		return nil, fmt.Errorf("%w: label font: %v", ErrInvalidConfig, err)
	}
	return &text{font: f, faces: make(map[int]font.Face)}, nil
}

func (t *text) face(px int) (font.Face, error) {
	if f, ok := t.faces[px]; ok {
		return f, nil
	}
	f, err := opentype.NewFace(t.font, &opentype.FaceOptions{Size: float64(px), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, err
	}
	t.faces[px] = f
	return f, nil
}

// fit returns s, or its longest prefix followed by an ellipsis, whichever
// first fits in maxW pixels at face f; "" if not even one letter does.
func fit(f font.Face, s string, maxW int) string {
	limit := fixed.I(maxW)
	if font.MeasureString(f, s) <= limit {
		return s
	}
	// Prefix widths grow with the prefix: binary search over rune counts.
	runes := []rune(s)
	lo, hi := 0, len(runes) // lo fits, hi does not
	try := func(n int) string { return strings.TrimRightFunc(string(runes[:n]), unicode.IsSpace) + "…" }
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if font.MeasureString(f, try(mid)) <= limit {
			lo = mid
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return ""
	}
	return try(lo)
}

// render draws s with face f into a new mask the size of the text plus
// padX and padY on each side. The mask holds only the text's coverage; the
// box behind it is applied by blend.
func render(f font.Face, s string, padX, padY int) *mask {
	m := f.Metrics()
	asc, desc := m.Ascent.Ceil(), m.Descent.Ceil()
	adv := font.MeasureString(f, s).Ceil()
	w := (adv + 2*padX + 1) &^ 1
	h := (asc + desc + 2*padY + 1) &^ 1
	img := image.NewAlpha(image.Rect(0, 0, w, h))
	d := font.Drawer{Dst: img, Src: image.White, Face: f, Dot: fixed.P(padX, padY+asc)}
	d.DrawString(s)
	mk := &mask{w: w, h: h, a: img.Pix, ca: make([]byte, (w/2)*(h/2))}
	for y := 0; y < h/2; y++ {
		for x := 0; x < w/2; x++ {
			i := 2*y*w + 2*x
			mk.ca[y*(w/2)+x] = max(mk.a[i], mk.a[i+1], mk.a[i+w], mk.a[i+w+1])
		}
	}
	return mk
}

// blend draws white text through m onto f at (x0, y0), which must be even
// and leave m inside f. keep, out of 256, is how much of the picture under
// the mask's rectangle survives: 256 draws text alone, less darkens the
// rectangle into a box and moves its chroma towards grey by as much.
func (m *mask) blend(f *codec.Frame, x0, y0, keep int) {
	for y := range m.h {
		row := f.Y[(y0+y)*f.Width+x0:][:m.w]
		a := m.a[y*m.w:][:m.w]
		for i, v := range row {
			l := 16 + (int(v)-16)*keep>>8
			l += (textY - l) * int(a[i]) / 255
			row[i] = uint8(l)
		}
	}
	cw, mw := f.ChromaWidth(), m.w/2
	for y := range m.h / 2 {
		off := (y0/2+y)*cw + x0/2
		u, v := f.U[off:][:mw], f.V[off:][:mw]
		a := m.ca[y*mw:][:mw]
		for i := range u {
			cu := 128 + (int(u[i])-128)*keep>>8
			cv := 128 + (int(v[i])-128)*keep>>8
			u[i] = uint8(cu + (128-cu)*int(a[i])/255)
			v[i] = uint8(cv + (128-cv)*int(a[i])/255)
		}
	}
}

// labelKey identifies a cached label: the name, its size and the width it
// had to fit (which decides the truncation).
type labelKey struct {
	name    string
	px, max int
}

// label returns the cached label box for name on a picture of tw x th
// pixels, rendering it on first use; nil when the name is empty or the
// picture is too small for any text.
func (c *Compositor) label(name string, tw, th int) *mask {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil
	}
	px := labelPx(th)
	padX, padY := (px/3+1)&^1, (px/6+1)&^1
	maxW := tw - 2*labelMargin - 2*padX
	key := labelKey{name, px, maxW}
	m, ok := c.labels[key]
	if !ok {
		m = &mask{} // an empty mask remembers that nothing fits
		if f, err := c.text.face(px); err == nil && maxW >= px {
			if s := fit(f, name, maxW); s != "" {
				m = render(f, s, padX, padY)
			}
		}
		c.labels[key] = m
	}
	m.used = c.frame
	if m.w == 0 || m.w > tw-2*labelMargin || m.h > th-2*labelMargin {
		return nil
	}
	return m
}

// drawLabel puts the name's label at the bottom-left of area: the picture
// inside a tile, so that a letterboxed picture has its label on it rather
// than on the bar below, or the whole tile of a placeholder.
func (c *Compositor) drawLabel(dst *codec.Frame, area codec.Rect, name string) {
	m := c.label(name, area.Dx(), area.Dy())
	if m == nil {
		return
	}
	m.blend(dst, area.X0+labelMargin, area.Y1-labelMargin-m.h, labelKeep)
}

// initials are the first letters of the first and last words of name, in
// upper case: "Ada Lovelace" gives "AL", "ada" gives "A".
func initials(name string) string {
	words := strings.Fields(name)
	if len(words) == 0 {
		return ""
	}
	first := func(w string) string {
		r, _ := utf8.DecodeRuneInString(w)
		return string(unicode.ToUpper(r))
	}
	if len(words) == 1 {
		return first(words[0])
	}
	return first(words[0]) + first(words[len(words)-1])
}

// avatarColours derives a participant's placeholder colours from its ID:
// a muted tile and a lighter disc of the same hue. IDs are hashed onto the
// colour wheel, so participants without video, however numbered, are told
// apart at a glance.
func avatarColours(id SourceID) (tile, disc codec.YUV) {
	// splitmix64 finalizer: consecutive IDs land far apart on the wheel.
	z := uint64(id) + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	hue := float64(z%360) / 60
	return hsv(hue, 0.40, 0.40), hsv(hue, 0.45, 0.70)
}

// hsv converts a colour with hue in [0, 6) sextants to limited-range YUV.
func hsv(h, s, v float64) codec.YUV {
	c := v * s
	x := c * (1 - math.Abs(math.Mod(h, 2)-1))
	var r, g, b float64
	switch int(h) {
	case 0:
		r, g = c, x
	case 1:
		r, g = x, c
	case 2:
		g, b = c, x
	case 3:
		g, b = x, c
	case 4:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := v - c
	u8 := func(f float64) uint8 { return uint8(math.Round((f + m) * 255)) }
	return codec.RGB(u8(r), u8(g), u8(b))
}

// placeholderKey identifies a cached placeholder picture.
type placeholderKey struct {
	id   SourceID
	name string
	w, h int
}

type placeholder struct {
	frame *codec.Frame
	used  uint64
}

// placeholder returns the cached picture shown for a participant without
// video on a w x h tile: its colour, a disc and its initials.
func (c *Compositor) placeholder(id SourceID, name string, w, h int) *codec.Frame {
	key := placeholderKey{id, name, w, h}
	if p, ok := c.placeholders[key]; ok {
		p.used = c.frame
		return p.frame
	}
	f := codec.NewFrame(w, h)
	bg, fg := avatarColours(id)
	f.Fill(bg)
	drawDisc(f, fg, float64(min(w, h))*0.3)
	if s := initials(name); s != "" {
		px := min(max(min(w, h)/4, labelMinPx), initialsMax)
		if face, err := c.text.face(px); err == nil {
			if m := render(face, s, 0, 0); m.w <= w && m.h <= h {
				m.blend(f, ((w-m.w)/2)&^1, ((h-m.h)/2)&^1, 256)
			}
		}
	}
	c.placeholders[key] = &placeholder{frame: f, used: c.frame}
	c.phBytes += len(f.Bytes())
	return f
}

// drawDisc paints an antialiased disc of radius r and colour col in the
// middle of f. It runs once per cached placeholder, so it favours clarity
// over speed.
func drawDisc(f *codec.Frame, col codec.YUV, r float64) {
	cx, cy := float64(f.Width)/2, float64(f.Height)/2
	cover := func(x, y float64) int { // 0..256, from the distance to the rim
		d := math.Hypot(x-cx, y-cy)
		return int(math.Round(min(max(r-d+0.5, 0), 1) * 256))
	}
	mix := func(dst *uint8, src uint8, a int) { *dst = uint8((int(*dst)*(256-a) + int(src)*a + 128) >> 8) }
	for y := range f.Height {
		for x := range f.Width {
			if a := cover(float64(x)+0.5, float64(y)+0.5); a > 0 {
				mix(&f.Y[y*f.Width+x], col.Y, a)
			}
		}
	}
	cw := f.ChromaWidth()
	for y := range f.ChromaHeight() {
		for x := range cw {
			if a := cover(float64(2*x+1), float64(2*y+1)); a > 0 {
				mix(&f.U[y*cw+x], col.U, a)
				mix(&f.V[y*cw+x], col.V, a)
			}
		}
	}
}
