package mixer

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
)

var tileColours = []codec.YUV{
	codec.RGB(220, 30, 30), codec.RGB(30, 200, 40), codec.RGB(30, 40, 220), codec.RGB(240, 240, 30),
	codec.RGB(200, 40, 200), codec.RGB(40, 200, 200), codec.RGB(250, 140, 20), codec.RGB(150, 150, 150),
}

func solid(w, h int, c codec.YUV) *codec.Frame {
	f := codec.NewFrame(w, h)
	f.Fill(c)
	return f
}

func mustCompositor(t testing.TB, cfg CompositorConfig) *Compositor {
	t.Helper()
	c, err := NewCompositor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func compose(t testing.TB, c *Compositor, sources []VideoSource, speaker SourceID) (*codec.Frame, []Tile) {
	t.Helper()
	w, h := c.Size()
	dst := codec.NewFrame(w, h)
	tiles, err := c.Compose(dst, sources, speaker)
	if err != nil {
		t.Fatal(err)
	}
	return dst, tiles
}

// inner is the middle half of r, clear of labels and borders.
func inner(r codec.Rect) codec.Rect {
	return codec.R(r.X0+r.Dx()/4, r.Y0+r.Dy()/4, r.Dx()/2, r.Dy()/3)
}

func colourSources(n, w, h int) []VideoSource {
	var s []VideoSource
	for i := range n {
		s = append(s, VideoSource{ID: SourceID(i + 1), Frame: solid(w, h, tileColours[i%len(tileColours)]), Name: fmt.Sprintf("Person %d", i+1)})
	}
	return s
}

func TestNewCompositorConfig(t *testing.T) {
	c := mustCompositor(t, CompositorConfig{})
	if w, h := c.Size(); w != 1280 || h != 720 {
		t.Fatalf("default size %dx%d", w, h)
	}
	for _, cfg := range []CompositorConfig{
		{Width: 641, Height: 360}, {Width: 640, Height: 361}, {Width: 8, Height: 8},
		{Width: 8192, Height: 720}, {Width: 640}, {Filter: 9},
	} {
		if _, err := NewCompositor(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: err = %v, want ErrInvalidConfig", cfg, err)
		}
	}
	if _, err := c.Compose(codec.NewFrame(640, 360), nil, 0); !errors.Is(err, ErrFrameSize) {
		t.Errorf("wrong canvas: err = %v", err)
	}
	if _, err := c.Compose(nil, nil, 0); !errors.Is(err, ErrFrameSize) {
		t.Errorf("nil canvas: err = %v", err)
	}
}

func TestComposeEmptyIsBackground(t *testing.T) {
	c := mustCompositor(t, CompositorConfig{Width: 320, Height: 180})
	dst := solid(320, 180, codec.White)
	tiles, err := c.Compose(dst, nil, 0)
	if err != nil || len(tiles) != 0 {
		t.Fatalf("tiles %v, err %v", tiles, err)
	}
	for y := range 180 {
		for x := range 320 {
			if got := dst.At(x, y); got != DefaultBackground {
				t.Fatalf("(%d,%d) = %+v, want background", x, y, got)
			}
		}
	}
}

func TestComposeGridColours(t *testing.T) {
	c := mustCompositor(t, CompositorConfig{})
	sources := colourSources(4, 640, 360)
	// Start from a colour Compose never paints, so that any pixel it
	// forgets shows.
	unpainted := codec.YUV{Y: 1, U: 2, V: 3}
	dst := solid(1280, 720, unpainted)
	tiles, err := c.Compose(dst, sources, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tiles) != 4 {
		t.Fatalf("%d tiles", len(tiles))
	}
	for i, tl := range tiles {
		if tl.ID != sources[i].ID || tl.Large {
			t.Errorf("tile %d = %+v", i, tl)
		}
		// Row-major: source i is in quadrant i of the canvas.
		q := codec.R((i%2)*640+160, (i/2)*360+90, 320, 120)
		if got, want := dst.Mean(q), tileColours[i]; got.Distance(want) > 3 {
			t.Errorf("quadrant %d = %+v, want %+v", i, got, want)
		}
		if got, want := dst.Mean(inner(tl.Rect)), tileColours[i]; got.Distance(want) > 3 {
			t.Errorf("tile %d %v = %+v, want %+v", i, tl.Rect, got, want)
		}
	}
	// The gaps between tiles are background, and nothing is left out.
	if got := dst.At(tiles[0].Rect.X1+1, 100); got.Distance(DefaultBackground) > 0 {
		t.Errorf("gap = %+v, want background", got)
	}
	for y := 0; y < 720; y += 2 {
		for x := 0; x < 1280; x += 2 {
			if dst.At(x, y) == unpainted {
				t.Fatalf("(%d,%d) left unpainted", x, y)
			}
		}
	}
}

func TestComposeLetterbox(t *testing.T) {
	bg := codec.RGB(10, 60, 10)
	c := mustCompositor(t, CompositorConfig{Width: 1280, Height: 720, Background: bg, NoLabels: true})
	col := tileColours[2]

	// 4:3 in a 16:9 tile: 960x720 centred, bars of 160 px each side.
	dst, _ := compose(t, c, []VideoSource{{ID: 1, Frame: solid(640, 480, col)}}, 0)
	for _, r := range []codec.Rect{codec.R(0, 0, 156, 720), codec.R(1124, 0, 156, 720)} {
		if got := dst.Mean(r); got.Distance(bg) > 0 {
			t.Errorf("4:3 bar %v = %+v, want background %+v", r, got, bg)
		}
	}
	for _, r := range []codec.Rect{codec.R(164, 0, 952, 720), codec.R(600, 0, 80, 4)} {
		if got := dst.Mean(r); got.Distance(col) > 3 {
			t.Errorf("4:3 picture %v = %+v, want %+v", r, got, col)
		}
	}

	// 16:9 fills the tile to the edges.
	dst, _ = compose(t, c, []VideoSource{{ID: 1, Frame: solid(640, 360, col)}}, 0)
	for _, r := range []codec.Rect{codec.R(0, 0, 2, 720), codec.R(1278, 0, 2, 720), codec.R(0, 0, 1280, 2), codec.R(0, 718, 1280, 2)} {
		if got := dst.Mean(r); got.Distance(col) > 3 {
			t.Errorf("16:9 edge %v = %+v, want %+v", r, got, col)
		}
	}

	// Portrait 9:16 in a 16:9 tile: narrow picture, wide bars.
	dst, _ = compose(t, c, []VideoSource{{ID: 1, Frame: solid(360, 640, col)}}, 0)
	if got := dst.Mean(codec.R(0, 0, 400, 720)); got.Distance(bg) > 0 {
		t.Errorf("portrait bar = %+v", got)
	}
	if got := dst.Mean(codec.R(560, 0, 160, 720)); got.Distance(col) > 3 {
		t.Errorf("portrait picture = %+v", got)
	}
}

func TestComposeOddSizedSource(t *testing.T) {
	// 321x179, left part red and right part blue: the picture must arrive
	// whole and the right way round, in one tile and in a grid.
	src := solid(321, 179, tileColours[0])
	src.FillRect(codec.Rect{X0: 160, Y0: 0, X1: 321, Y1: 179}, tileColours[2])
	for _, n := range []int{1, 4} {
		c := mustCompositor(t, CompositorConfig{NoLabels: true})
		sources := colourSources(n, 64, 36)
		sources[0].Frame = src
		dst, tiles := compose(t, c, sources, 0)
		r := tiles[0].Rect
		left := codec.R(r.X0+r.Dx()/8, r.Y0+r.Dy()/4, r.Dx()/4, r.Dy()/2)
		right := codec.R(r.X0+r.Dx()*5/8, r.Y0+r.Dy()/4, r.Dx()/4, r.Dy()/2)
		if got := dst.Mean(left); got.Distance(tileColours[0]) > 3 {
			t.Errorf("n=%d: left half = %+v", n, got)
		}
		if got := dst.Mean(right); got.Distance(tileColours[2]) > 3 {
			t.Errorf("n=%d: right half = %+v", n, got)
		}
	}
}

func TestFitRect(t *testing.T) {
	tile := codec.R(100, 50, 638, 358)
	for _, tc := range []struct {
		sw, sh int
		want   codec.Rect
	}{
		{640, 360, tile},                       // 16:9 snaps to the tile
		{640, 480, codec.R(180, 50, 476, 358)}, // 4:3: bars left and right
		{360, 640, codec.R(318, 50, 200, 358)}, // 9:16
		{1000, 100, codec.R(100, 198, 638, 62)},
		{321, 179, tile},
		{1, 1, codec.R(240, 50, 358, 358)},
	} {
		got := fitRect(tile, tc.sw, tc.sh)
		if got != tc.want {
			t.Errorf("%dx%d: %v, want %v", tc.sw, tc.sh, got, tc.want)
		}
		if got.X0%2 != 0 || got.Y0%2 != 0 || got.Intersect(tile) != got {
			t.Errorf("%dx%d: %v odd or outside", tc.sw, tc.sh, got)
		}
	}
}

// hasBorder reports whether all four edges of r are in the colour col.
func hasBorder(f *codec.Frame, r codec.Rect, col codec.YUV) bool {
	edges := []codec.Rect{
		codec.R(r.X0, r.Y0, r.Dx(), BorderWidth), codec.R(r.X0, r.Y1-BorderWidth, r.Dx(), BorderWidth),
		codec.R(r.X0, r.Y0, BorderWidth, r.Dy()), codec.R(r.X1-BorderWidth, r.Y0, BorderWidth, r.Dy()),
	}
	for _, e := range edges {
		if f.Mean(e).Distance(col) > 1 {
			return false
		}
	}
	return true
}

func TestComposeSpeakerLayout(t *testing.T) {
	c := mustCompositor(t, CompositorConfig{})
	c.SetLayout(LayoutSpeaker, 0)
	sources := colourSources(5, 640, 360)
	dst, tiles := compose(t, c, sources, 3)
	if len(tiles) != 5 || tiles[0].ID != 3 || !tiles[0].Large {
		t.Fatalf("tiles %+v, want speaker 3 large first", tiles)
	}
	big := tiles[0].Rect
	for _, tl := range tiles[1:] {
		if tl.Large || tl.Rect.Dx()*tl.Rect.Dy()*4 > big.Dx()*big.Dy() {
			t.Errorf("strip tile %+v not small", tl)
		}
		if hasBorder(dst, tl.Rect, DefaultBorderColor) {
			t.Errorf("tile %d has the speaker border", tl.ID)
		}
	}
	// The rest keep their order in the strip.
	for i, id := range []SourceID{1, 2, 4, 5} {
		if tiles[i+1].ID != id {
			t.Errorf("strip %d = %d, want %d", i, tiles[i+1].ID, id)
		}
		if got := dst.Mean(inner(tiles[i+1].Rect)); got.Distance(tileColours[id-1]) > 3 {
			t.Errorf("strip tile %d = %+v", id, got)
		}
	}
	if got := dst.Mean(inner(big)); got.Distance(tileColours[2]) > 3 {
		t.Errorf("large tile = %+v, want source 3's colour", got)
	}
	if !hasBorder(dst, big, DefaultBorderColor) {
		t.Errorf("large tile %v has no speaker border", big)
	}
	if dst.At(big.X0+BorderWidth+2, big.Y0+BorderWidth+2).Distance(DefaultBorderColor) < 20 {
		t.Errorf("border wider than %d px", BorderWidth)
	}

	// An absent speaker: the first source is large, and nobody is framed.
	dst, tiles = compose(t, c, sources, 42)
	if tiles[0].ID != 1 || !tiles[0].Large {
		t.Fatalf("no speaker: tiles %+v", tiles)
	}
	for _, tl := range tiles {
		if hasBorder(dst, tl.Rect, DefaultBorderColor) {
			t.Errorf("tile %d framed without a speaker", tl.ID)
		}
	}
}

func TestComposeGridFramesSpeaker(t *testing.T) {
	c := mustCompositor(t, CompositorConfig{BorderColor: codec.White})
	dst, tiles := compose(t, c, colourSources(6, 640, 360), 2)
	for _, tl := range tiles {
		if got := hasBorder(dst, tl.Rect, codec.White); got != (tl.ID == 2) {
			t.Errorf("tile %d: border %v", tl.ID, got)
		}
	}
}

func TestComposePresentationLayout(t *testing.T) {
	c := mustCompositor(t, CompositorConfig{})
	c.SetLayout(LayoutPresentation, 4)
	if k, p := c.Layout(); k != LayoutPresentation || p != 4 {
		t.Fatalf("Layout() = %v, %d", k, p)
	}
	sources := colourSources(4, 640, 360)
	dst, tiles := compose(t, c, sources, 2)
	if tiles[0].ID != 4 || !tiles[0].Large {
		t.Fatalf("tiles %+v, want pinned 4 large", tiles)
	}
	if got := dst.Mean(inner(tiles[0].Rect)); got.Distance(tileColours[3]) > 3 {
		t.Errorf("large tile = %+v", got)
	}
	// The speaker is in the strip, framed there.
	for _, tl := range tiles[1:] {
		if got := hasBorder(dst, tl.Rect, DefaultBorderColor); got != (tl.ID == 2) {
			t.Errorf("tile %d: border %v", tl.ID, got)
		}
	}
	if hasBorder(dst, tiles[0].Rect, DefaultBorderColor) {
		t.Error("pinned tile framed though not speaking")
	}

	// The pinned participant left: back to the grid.
	c.SetLayout(LayoutPresentation, 99)
	_, tiles = compose(t, c, sources, 2)
	grid := GridRects(1280, 720, 4)
	for i, tl := range tiles {
		if tl.Large || tl.ID != sources[i].ID || tl.Rect != grid[i] {
			t.Errorf("fallback tile %d = %+v, want grid %v", i, tl, grid[i])
		}
	}
}

func TestComposeCapsTileCount(t *testing.T) {
	c := mustCompositor(t, CompositorConfig{Width: 640, Height: 360})
	sources := colourSources(30, 32, 18)
	if _, tiles := compose(t, c, sources, 0); len(tiles) != MaxGridTiles {
		t.Errorf("grid drew %d tiles", len(tiles))
	}
	c.SetLayout(LayoutSpeaker, 0)
	_, tiles := compose(t, c, sources, 30)
	if len(tiles) != 1+MaxStripTiles || tiles[0].ID != 30 || tiles[1].ID != 1 {
		t.Errorf("speaker layout tiles %+v", tiles)
	}
}

// brightPixels counts luma samples of r at or above lvl.
func brightPixels(f *codec.Frame, r codec.Rect, lvl uint8) int {
	r = r.Intersect(f.Bounds())
	n := 0
	for y := r.Y0; y < r.Y1; y++ {
		for x := r.X0; x < r.X1; x++ {
			if f.Y[y*f.Width+x] >= lvl {
				n++
			}
		}
	}
	return n
}

// labelArea is where a tile's label goes.
func labelArea(r codec.Rect) codec.Rect {
	return codec.Rect{X0: r.X0, Y0: r.Y1 - 60, X1: r.X0 + r.Dx()/2, Y1: r.Y1}
}

func TestComposePlaceholder(t *testing.T) {
	c := mustCompositor(t, CompositorConfig{})
	sources := colourSources(4, 640, 360)
	sources[1] = VideoSource{ID: 7, Name: "Grace Hopper"}
	sources[2] = VideoSource{ID: 8, Name: "Ada Lovelace"}
	dst, tiles := compose(t, c, sources, 0)

	corner := func(r codec.Rect) codec.YUV { return dst.Mean(codec.R(r.X0+16, r.Y0+16, r.Dx()/8, r.Dy()/8)) }
	a, b := corner(tiles[1].Rect), corner(tiles[2].Rect)
	for _, col := range []codec.YUV{a, b} {
		if col.Distance(DefaultBackground) < 12 || col.Distance(codec.Black) < 12 {
			t.Errorf("placeholder colour %+v too close to background or black", col)
		}
	}
	if a.Distance(b) < 8 {
		t.Errorf("placeholders of 7 and 8 look alike: %+v, %+v", a, b)
	}
	for _, tl := range tiles[1:3] {
		if n := brightPixels(dst, labelArea(tl.Rect), 200); n < 30 {
			t.Errorf("placeholder %d: %d bright pixels in the label", tl.ID, n)
		}
		if n := brightPixels(dst, inner(tl.Rect), 200); n < 100 {
			t.Errorf("placeholder %d: %d bright pixels of initials", tl.ID, n)
		}
	}

	// Deterministic: a fresh compositor paints the same placeholder, and a
	// second frame reuses the cached picture.
	c2 := mustCompositor(t, CompositorConfig{})
	dst2, _ := compose(t, c2, sources, 0)
	if string(dst.Bytes()) != string(dst2.Bytes()) {
		t.Error("placeholders differ between compositors")
	}
	cached := c.placeholder(7, "Grace Hopper", tiles[1].Rect.Dx(), tiles[1].Rect.Dy())
	compose(t, c, sources, 0)
	if len(c.placeholders) != 2 || c.placeholder(7, "Grace Hopper", tiles[1].Rect.Dx(), tiles[1].Rect.Dy()) != cached {
		t.Errorf("placeholder cache: %d entries", len(c.placeholders))
	}
}

func TestCachesStayBounded(t *testing.T) {
	c := mustCompositor(t, CompositorConfig{Width: 320, Height: 180})
	for i := range 400 {
		sources := []VideoSource{{ID: SourceID(i + 1), Name: fmt.Sprintf("guest %d", i)}}
		compose(t, c, sources, 0)
	}
	if len(c.labels) > labelCacheEntries+1 || len(c.placeholders) > placeholderCacheEntries+1 {
		t.Fatalf("caches grew to %d labels, %d placeholders", len(c.labels), len(c.placeholders))
	}
}

func TestComposeSteadyStateAllocatesNothing(t *testing.T) {
	c := mustCompositor(t, CompositorConfig{})
	sources := colourSources(9, 640, 360)
	sources[4].Frame = nil
	sources[7] = VideoSource{ID: 77, Name: "Audio Only"}
	codectest.MovingPicture(sources[0].Frame, 3)
	dst := codec.NewFrame(1280, 720)
	for _, layout := range []LayoutKind{LayoutGrid, LayoutSpeaker, LayoutPresentation} {
		c.SetLayout(layout, 2)
		if _, err := c.Compose(dst, sources, 3); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := c.Compose(dst, sources, 3); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %.1f allocations per frame", layout, allocs)
		}
	}
}

// movingSources returns n sources of w x h showing frames of pics, which
// rotate through the synthetic moving sequence.
func movingSources(n int, pics []*codec.Frame) []VideoSource {
	var s []VideoSource
	for i := range n {
		s = append(s, VideoSource{ID: SourceID(i + 1), Frame: pics[i%len(pics)], Name: fmt.Sprintf("Participant %d", i+1)})
	}
	return s
}

func BenchmarkCompose(b *testing.B) {
	pics := func(w, h int) []*codec.Frame {
		p := make([]*codec.Frame, 16)
		for i := range p {
			p[i] = codec.NewFrame(w, h)
			codectest.MovingPicture(p[i], i*4)
		}
		return p
	}
	small, hd := pics(640, 360), pics(1280, 720)
	for _, bc := range []struct {
		name         string
		n            int
		pics         []*codec.Frame
		layout       LayoutKind
		placeholders int // the last ones have no video
	}{
		{"9-inputs-640x360-to-1280x720", 9, small, LayoutGrid, 0},
		{"4-inputs-1280x720-to-1280x720", 4, hd, LayoutGrid, 0},
		{"9-inputs-7-placeholders", 9, small, LayoutGrid, 7},
		{"speaker-7-inputs-640x360", 7, small, LayoutSpeaker, 0},
		{"25-inputs-640x360", 25, small, LayoutGrid, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := mustCompositor(b, CompositorConfig{})
			c.SetLayout(bc.layout, 0)
			sources := movingSources(bc.n, bc.pics)
			dst := codec.NewFrame(1280, 720)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				for i := range sources {
					if i >= bc.n-bc.placeholders {
						sources[i].Frame = nil
						continue
					}
					sources[i].Frame = bc.pics[(n+i)%len(bc.pics)]
				}
				if _, err := c.Compose(dst, sources, 1); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "µs/frame")
		})
	}
}
