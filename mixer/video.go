package mixer

import (
	"fmt"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/yuv"
)

// VideoSource is one participant as the compositor sees it.
type VideoSource struct {
	ID SourceID
	// Frame is the participant's latest picture, of any size. nil draws a
	// placeholder instead: the participant has no video, or it stalled
	// before its first picture.
	Frame *codec.Frame
	// Name labels the tile and gives the placeholder its initials.
	Name string
	// Version changes whenever Frame holds a new picture. A tile whose
	// source has the same non-zero Version, name and place as in the
	// previous Compose onto the same canvas is left as it was drawn; 0
	// means unknown: the tile is drawn every time.
	Version uint64
}

// Tile is where Compose drew a participant.
type Tile struct {
	ID   SourceID
	Rect codec.Rect
	// Large marks the feature tile of the speaker and presentation layouts.
	Large bool
	// Placeholder: the source had no picture; its name card is shown.
	Placeholder bool
}

// Default colours of the canvas.
var (
	DefaultBackground  = codec.RGB(28, 28, 32)
	DefaultBorderColor = codec.RGB(255, 190, 30)
)

// Canvas limits, and the width of the active speaker's border.
const (
	MinCanvas   = 16
	MaxCanvas   = 4096
	BorderWidth = 4
)

// DefaultCanvasWidth and DefaultCanvasHeight are the canvas size when a
// configuration gives none (720p).
const (
	DefaultCanvasWidth  = 1280
	DefaultCanvasHeight = 720
)

// CompositorConfig sets up a Compositor. Zero fields take the defaults.
type CompositorConfig struct {
	// Width and Height are the canvas size: even, 16 to 4096. Default
	// DefaultCanvasWidth x DefaultCanvasHeight.
	Width, Height int
	// Background paints letterbox bars and the space between tiles.
	// Default DefaultBackground. The zero YUV (an invalid limited-range
	// colour, deep green) means the default.
	Background codec.YUV
	// NoLabels turns the name labels off. Placeholders keep their initials.
	NoLabels bool
	// BorderColor frames the active speaker's tile. Default
	// DefaultBorderColor; the zero YUV means the default.
	BorderColor codec.YUV
	// Filter is the scaling filter. Its zero value, yuv.Nearest, means the
	// default yuv.Bilinear: point sampling aliases badly on a composite and
	// saves little over yuv.Linear, the cheapest filter worth having.
	Filter yuv.Filter
}

func (c *CompositorConfig) setDefaults() error {
	if c.Width == 0 && c.Height == 0 {
		c.Width, c.Height = DefaultCanvasWidth, DefaultCanvasHeight
	}
	if c.Background == (codec.YUV{}) {
		c.Background = DefaultBackground
	}
	if c.BorderColor == (codec.YUV{}) {
		c.BorderColor = DefaultBorderColor
	}
	if c.Filter == yuv.Nearest {
		c.Filter = yuv.Bilinear
	}
	switch {
	case c.Width < MinCanvas || c.Width > MaxCanvas || c.Height < MinCanvas || c.Height > MaxCanvas:
		return fmt.Errorf("%w: canvas %dx%d (%d to %d each way)", ErrInvalidConfig, c.Width, c.Height, MinCanvas, MaxCanvas)
	case c.Width%2 != 0 || c.Height%2 != 0:
		return fmt.Errorf("%w: canvas %dx%d must be even both ways", ErrInvalidConfig, c.Width, c.Height)
	case c.Filter < yuv.Nearest || c.Filter > yuv.Box:
		return fmt.Errorf("%w: filter %d", ErrInvalidConfig, c.Filter)
	}
	return nil
}

// Cache bounds. Entries not drawn in the current frame are dropped once a
// cache grows past its bound; one frame never needs more than MaxGridTiles
// of each.
const (
	labelCacheEntries       = 128
	placeholderCacheEntries = 48
	placeholderCacheBytes   = 24 << 20
)

// geometry identifies the tile rectangles in use.
type geometry struct {
	feature bool // FeatureRects rather than GridRects
	n       int
}

// Compositor lays participants' pictures out on one canvas: it scales each
// picture straight into its tile with libyuv, keeping its aspect ratio,
// paints placeholders for participants without video, labels tiles with
// names and frames the active speaker.
//
// Rendered text and placeholders are cached, so composing the same
// participants in the same layout frame after frame allocates nothing. A
// Compositor is not safe for concurrent use; the room's owner drives it.
type Compositor struct {
	cfg    CompositorConfig
	kind   LayoutKind
	pinned SourceID

	geom  geometry
	rects []codec.Rect // tiles of geom
	bg    []codec.Rect // the canvas outside the tiles
	order []int        // index into sources of each tile
	pics  []codec.Rect // the part of each tile its picture covers
	tiles []Tile

	// What the previous Compose left on its canvas, to redraw only the
	// tiles that changed (see VideoSource.Version).
	lastDst     *codec.Frame
	lastSpeaker SourceID
	lastGeom    geometry
	drawn       []drawnTile
	redrawn     uint64 // tiles drawn, and left as they were (stats)
	kept        uint64

	text         *text
	frame        uint64 // Compose calls so far: the caches' clock
	labels       map[labelKey]*mask
	placeholders map[placeholderKey]*placeholder
	phBytes      int
}

// NewCompositor returns a compositor in the grid layout.
func NewCompositor(cfg CompositorConfig) (*Compositor, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	t, err := newText()
	if err != nil {
		return nil, err
	}
	return &Compositor{
		cfg:          cfg,
		geom:         geometry{n: -1},
		text:         t,
		labels:       make(map[labelKey]*mask),
		placeholders: make(map[placeholderKey]*placeholder),
	}, nil
}

// Size is the canvas size Compose draws.
func (c *Compositor) Size() (w, h int) { return c.cfg.Width, c.cfg.Height }

// SetLayout selects the layout from the next Compose on. pinned is the
// participant shown large in LayoutPresentation and is ignored by the other
// layouts. An unknown kind selects LayoutGrid.
func (c *Compositor) SetLayout(kind LayoutKind, pinned SourceID) {
	if kind < LayoutGrid || kind > LayoutPresentation {
		kind = LayoutGrid
	}
	c.kind, c.pinned = kind, pinned
}

// Layout is the layout in force and the pinned participant.
func (c *Compositor) Layout() (LayoutKind, SourceID) { return c.kind, c.pinned }

// drawnTile is what a tile shows on the canvas.
type drawnTile struct {
	id          SourceID
	version     uint64
	name        string
	placeholder bool
}

// Compose draws sources onto dst, which must be the canvas size, and
// returns where it put each of them; the slice is reused by the next call.
//
// When dst is the canvas of the previous call, with the same layout,
// tiles and speaker, only the tiles whose source changed are drawn again
// (see VideoSource.Version); the rest of the canvas keeps its pixels.
//
// speaker is the active speaker, 0 for none. LayoutSpeaker shows it large
// (the first source if it is absent), and every layout frames its tile.
// LayoutPresentation shows the pinned participant large and falls back to
// the grid when it is absent. The other participants fill the grid or the
// strip in the order given; those beyond MaxGridTiles, or MaxStripTiles in
// the strip, are not drawn.
func (c *Compositor) Compose(dst *codec.Frame, sources []VideoSource, speaker SourceID) ([]Tile, error) {
	if dst == nil || dst.Width != c.cfg.Width || dst.Height != c.cfg.Height {
		w, h := 0, 0
		if dst != nil {
			w, h = dst.Width, dst.Height
		}
		return nil, fmt.Errorf("%w: canvas %dx%d, want %dx%d", ErrFrameSize, w, h, c.cfg.Width, c.cfg.Height)
	}
	c.frame++
	c.arrange(sources, speaker)
	full := dst != c.lastDst || c.geom != c.lastGeom || speaker != c.lastSpeaker || len(c.drawn) != len(c.order)
	// Until this call completes, nothing of dst may be trusted.
	c.lastDst = nil
	if full {
		for _, r := range c.bg {
			fill(dst, r, c.cfg.Background)
		}
	}
	c.tiles, c.pics = c.tiles[:0], c.pics[:0]
	if len(c.drawn) != len(c.order) {
		c.drawn = append(c.drawn[:0], make([]drawnTile, len(c.order))...)
	}
	for i, si := range c.order {
		s := &sources[si]
		r := c.rects[i]
		now := drawnTile{id: s.ID, version: s.Version, name: s.Name, placeholder: s.Frame == nil}
		c.tiles = append(c.tiles, Tile{ID: s.ID, Rect: r, Large: c.geom.feature && i == 0, Placeholder: s.Frame == nil})
		if !full && now.version != 0 && c.drawn[i] == now {
			c.pics = append(c.pics, codec.Rect{}) // nothing drawn: no label either
			c.kept++
			continue
		}
		pic, err := c.drawTile(dst, r, s)
		if err != nil {
			return nil, err
		}
		c.drawn[i] = now
		c.pics = append(c.pics, pic)
		c.redrawn++
	}
	if !c.cfg.NoLabels {
		for i, si := range c.order {
			if !c.pics[i].Empty() {
				c.drawLabel(dst, c.pics[i], sources[si].Name)
			}
		}
	}
	if speaker != 0 {
		for i, t := range c.tiles {
			if t.ID == speaker && (full || !c.pics[i].Empty()) {
				c.drawBorder(dst, t.Rect)
				break
			}
		}
	}
	c.lastDst, c.lastGeom, c.lastSpeaker = dst, c.geom, speaker
	c.evict()
	return c.tiles, nil
}

// Redraws counts the tiles Compose has drawn and those it left as they
// were on the canvas because their source had not changed.
func (c *Compositor) Redraws() (drawn, kept uint64) { return c.redrawn, c.kept }

// arrange decides which source goes in which tile, and the geometry.
func (c *Compositor) arrange(sources []VideoSource, speaker SourceID) {
	large := -1
	switch c.kind {
	case LayoutSpeaker:
		if len(sources) > 0 {
			large = max(0, indexOf(sources, speaker))
		}
	case LayoutPresentation:
		large = indexOf(sources, c.pinned)
	}
	c.order = c.order[:0]
	if large < 0 {
		for i := range min(len(sources), MaxGridTiles) {
			c.order = append(c.order, i)
		}
		c.setGeometry(geometry{feature: false, n: len(c.order)})
		return
	}
	c.order = append(c.order, large)
	for i := range sources {
		if i != large && len(c.order) < 1+MaxStripTiles {
			c.order = append(c.order, i)
		}
	}
	c.setGeometry(geometry{feature: true, n: len(c.order)})
}

// indexOf is the index of the first source with the given ID, or -1. ID 0
// is never found.
func indexOf(sources []VideoSource, id SourceID) int {
	if id == 0 {
		return -1
	}
	for i := range sources {
		if sources[i].ID == id {
			return i
		}
	}
	return -1
}

func (c *Compositor) setGeometry(g geometry) {
	if g == c.geom {
		return
	}
	c.geom = g
	w, h := c.cfg.Width, c.cfg.Height
	if g.feature {
		c.rects = appendFeatureRects(c.rects[:0], w, h, g.n)
	} else {
		c.rects = appendGridRects(c.rects[:0], w, h, g.n)
	}
	c.bg = appendComplement(c.bg[:0], codec.R(0, 0, w, h), c.rects)
}

// drawTile fills tile with the source's picture, letterboxed, or with its
// placeholder, and returns the rectangle the picture took.
func (c *Compositor) drawTile(dst *codec.Frame, tile codec.Rect, s *VideoSource) (codec.Rect, error) {
	if s.Frame == nil || s.Frame.Width < 1 || s.Frame.Height < 1 {
		dst.Blit(c.placeholder(s.ID, s.Name, tile.Dx(), tile.Dy()), tile.X0, tile.Y0)
		return tile, nil
	}
	pic := fitRect(tile, s.Frame.Width, s.Frame.Height)
	bg := c.cfg.Background
	fill(dst, codec.Rect{X0: tile.X0, Y0: tile.Y0, X1: pic.X0, Y1: tile.Y1}, bg)
	fill(dst, codec.Rect{X0: pic.X1, Y0: tile.Y0, X1: tile.X1, Y1: tile.Y1}, bg)
	fill(dst, codec.Rect{X0: pic.X0, Y0: tile.Y0, X1: pic.X1, Y1: pic.Y0}, bg)
	fill(dst, codec.Rect{X0: pic.X0, Y0: pic.Y1, X1: pic.X1, Y1: tile.Y1}, bg)
	if err := yuv.ScaleRect(dst, pic, s.Frame, c.cfg.Filter); err != nil {
		return pic, fmt.Errorf("mixer: source %d: %w", s.ID, err)
	}
	return pic, nil
}

// FitSize is the size a w x h picture takes in a tw x th tile (see
// Compose): a picture scaled to it beforehand is copied into its tile
// rather than scaled again.
func FitSize(tw, th, w, h int) (int, int) {
	r := fitRect(codec.R(0, 0, tw, th), w, h)
	return r.Dx(), r.Dy()
}

// fitRect is the largest rectangle with the aspect ratio of a sw x sh
// picture that fits in tile, centred, with even origin and size. When the
// bars around it would be thinner than 1/64 of the tile, the picture takes
// the whole tile instead: a stretch of under 2% cannot be seen, while
// bars a few pixels thin show as lines.
func fitRect(tile codec.Rect, sw, sh int) codec.Rect {
	tw, th := tile.Dx(), tile.Dy()
	fw, fh := tw, th
	if sw*th > sh*tw {
		fh = tw * sh / sw
	} else {
		fw = th * sw / sh
	}
	if tw-fw <= tw/64 {
		fw = tw
	}
	if th-fh <= th/64 {
		fh = th
	}
	fw, fh = max(2, fw&^1), max(2, fh&^1)
	x := tile.X0 + ((tw-fw)/2)&^1
	y := tile.Y0 + ((th-fh)/2)&^1
	return codec.R(x, y, fw, fh)
}

func (c *Compositor) drawBorder(dst *codec.Frame, r codec.Rect) {
	b, col := BorderWidth, c.cfg.BorderColor
	fill(dst, codec.Rect{X0: r.X0, Y0: r.Y0, X1: r.X1, Y1: r.Y0 + b}, col)
	fill(dst, codec.Rect{X0: r.X0, Y0: r.Y1 - b, X1: r.X1, Y1: r.Y1}, col)
	fill(dst, codec.Rect{X0: r.X0, Y0: r.Y0 + b, X1: r.X0 + b, Y1: r.Y1 - b}, col)
	fill(dst, codec.Rect{X0: r.X1 - b, Y0: r.Y0 + b, X1: r.X1, Y1: r.Y1 - b}, col)
}

// evict drops cache entries not drawn in this frame once a cache has
// outgrown its bound.
func (c *Compositor) evict() {
	if len(c.labels) > labelCacheEntries {
		for k, m := range c.labels {
			if m.used != c.frame {
				delete(c.labels, k)
			}
		}
	}
	if len(c.placeholders) > placeholderCacheEntries || c.phBytes > placeholderCacheBytes {
		for k, p := range c.placeholders {
			if p.used != c.frame {
				c.phBytes -= len(p.frame.Bytes())
				delete(c.placeholders, k)
			}
		}
	}
}

// fill paints r (clipped to f) with col, like codec.Frame.FillRect, but
// writes each row after the first with copy, which runs at memory speed.
// Letterbox bars can cover a third of the canvas, so this matters.
func fill(f *codec.Frame, r codec.Rect, col codec.YUV) {
	r = r.Intersect(f.Bounds())
	if r.Empty() {
		return
	}
	fillPlane(f.Y, f.Width, r.X0, r.Y0, r.X1, r.Y1, col.Y)
	cw := f.ChromaWidth()
	cx0, cy0, cx1, cy1 := r.X0/2, r.Y0/2, (r.X1+1)/2, (r.Y1+1)/2
	fillPlane(f.U, cw, cx0, cy0, cx1, cy1, col.U)
	fillPlane(f.V, cw, cx0, cy0, cx1, cy1, col.V)
}

func fillPlane(p []byte, stride, x0, y0, x1, y1 int, v byte) {
	first := p[y0*stride+x0 : y0*stride+x1]
	first[0] = v
	for n := 1; n < len(first); n *= 2 {
		copy(first[n:], first[:n])
	}
	for y := y0 + 1; y < y1; y++ {
		copy(p[y*stride+x0:y*stride+x1], first)
	}
}
