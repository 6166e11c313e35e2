package mixer

import (
	"strings"
	"testing"

	"github.com/tessera-mcu/tessera/codec"
)

func TestLabelDrawsName(t *testing.T) {
	dark := codec.RGB(40, 40, 40)
	bg := codec.RGB(40, 40, 40)
	c := mustCompositor(t, CompositorConfig{Width: 640, Height: 360, Background: bg})
	src := solid(640, 360, dark)
	area := codec.R(0, 360-60, 320, 60)

	dst, tiles := compose(t, c, []VideoSource{{ID: 1, Frame: src, Name: "Alice"}}, 0)
	if n := brightPixels(dst, area, 180); n < 30 {
		t.Fatalf("%d bright pixels in the label of Alice", n)
	}
	// The text is white on grey: no colour cast.
	for y := area.Y0; y < area.Y1; y++ {
		for x := area.X0; x < area.X1; x++ {
			if p := dst.At(x, y); p.Y >= 180 && (p.Distance(codec.YUV{Y: p.Y, U: 128, V: 128}) > 6) {
				t.Fatalf("text pixel (%d,%d) = %+v is tinted", x, y, p)
			}
		}
	}
	// The box darkens the picture behind the text.
	m := c.label("Alice", tiles[0].Rect.Dx(), tiles[0].Rect.Dy())
	box := codec.R(labelMargin, 360-labelMargin-m.h, m.w, m.h)
	if got := dst.At(box.X0+1, box.Y0+1); got.Y >= dark.Y {
		t.Errorf("box corner %+v not darker than the picture %+v", got, dark)
	}
	if got := dst.At(box.X1+2, box.Y0); got != dark {
		t.Errorf("right of the box = %+v, want the picture", got)
	}

	for _, name := range []string{"", " "} {
		dst, _ = compose(t, c, []VideoSource{{ID: 1, Frame: src, Name: name}}, 0)
		if n := brightPixels(dst, dst.Bounds(), 60); n != 0 {
			t.Errorf("name %q: %d bright pixels", name, n)
		}
	}

	c = mustCompositor(t, CompositorConfig{Width: 640, Height: 360, NoLabels: true})
	dst, _ = compose(t, c, []VideoSource{{ID: 1, Frame: src, Name: "Alice"}}, 0)
	if n := brightPixels(dst, area, 60); n != 0 {
		t.Errorf("NoLabels: %d bright pixels", n)
	}
}

func TestLabelIsCached(t *testing.T) {
	c := mustCompositor(t, CompositorConfig{})
	sources := colourSources(4, 320, 180)
	a, tiles := compose(t, c, sources, 0)
	m := c.label(sources[2].Name, tiles[2].Rect.Dx(), tiles[2].Rect.Dy())
	b, _ := compose(t, c, sources, 0)
	if string(a.Bytes()) != string(b.Bytes()) {
		t.Fatal("the same frame composed twice differs")
	}
	if m == nil || c.label(sources[2].Name, tiles[2].Rect.Dx(), tiles[2].Rect.Dy()) != m {
		t.Fatal("label rendered again")
	}
	if len(c.labels) != 4 {
		t.Fatalf("%d cached labels, want 4", len(c.labels))
	}
	// A size changes the label; the size follows the tile height.
	if labelPx(100) != labelMinPx || labelPx(1000) != labelMaxPx || labelPx(280) != 20 {
		t.Fatalf("label sizes %d %d %d", labelPx(100), labelPx(1000), labelPx(280))
	}
	if small := c.label(sources[2].Name, 200, 100); small == nil || small.h >= m.h {
		t.Fatalf("label on a smaller tile is not smaller")
	}
}

func TestLongLabelStaysInItsTile(t *testing.T) {
	long := strings.Repeat("Bartholomew Montgomery-Smythe ", 20)
	named := map[SourceID]bool{1: true, 5: true, 7: true}
	for _, layout := range []LayoutKind{LayoutGrid, LayoutSpeaker} {
		c := mustCompositor(t, CompositorConfig{})
		c.SetLayout(layout, 0)
		sources := colourSources(9, 320, 180)
		plain, _ := compose(t, c, sources, 0)
		for i := range sources {
			if named[sources[i].ID] {
				sources[i].Name = long
			}
		}
		withNames, tiles := compose(t, c, sources, 0)
		var rects []codec.Rect
		for _, tl := range tiles {
			if named[tl.ID] {
				rects = append(rects, tl.Rect)
			}
		}
		if len(rects) != len(named) {
			t.Fatalf("%v: tiles %+v", layout, tiles)
		}
		inside := func(x, y int) bool {
			for _, r := range rects {
				if x >= r.X0 && x < r.X1 && y >= r.Y0 && y < r.Y1 {
					return true
				}
			}
			return false
		}
		changed := 0
		for y := range withNames.Height {
			for x := range withNames.Width {
				if withNames.At(x, y) != plain.At(x, y) {
					changed++
					if !inside(x, y) {
						t.Fatalf("%v: (%d,%d) changed outside the long names' tiles", layout, x, y)
					}
				}
			}
		}
		if changed == 0 {
			t.Fatalf("%v: long names drew nothing", layout)
		}
		// Truncated with an ellipsis, within the tile's margins.
		for _, r := range rects {
			m := c.label(long, r.Dx(), r.Dy())
			if m == nil || m.w > r.Dx()-2*labelMargin {
				t.Fatalf("%v: tile %v label %+v", layout, r, m)
			}
		}
	}
}

func TestFitTruncates(t *testing.T) {
	tx, err := newText()
	if err != nil {
		t.Fatal(err)
	}
	f, err := tx.face(16)
	if err != nil {
		t.Fatal(err)
	}
	if got := fit(f, "Bob", 200); got != "Bob" {
		t.Errorf("short name = %q", got)
	}
	got := fit(f, "Wolfgang Amadeus Mozart", 100)
	if !strings.HasSuffix(got, "…") || !strings.HasPrefix("Wolfgang Amadeus Mozart", strings.TrimSuffix(got, "…")) || len(got) < 5 {
		t.Errorf("truncated name = %q", got)
	}
	if got := fit(f, "Wolfgang", 4); got != "" {
		t.Errorf("no room: %q", got)
	}
	// A tile too small for any text gets no label.
	c := mustCompositor(t, CompositorConfig{})
	if m := c.label("Wolfgang", 30, 20); m != nil {
		t.Errorf("label on a 30x20 tile: %+v", m)
	}
	// Same text size and width, but too low: the cached label is not used.
	if m := c.label("Wolfgang", 600, 100); m == nil {
		t.Error("no label on a 600x100 tile")
	}
	if m := c.label("Wolfgang", 600, 24); m != nil {
		t.Errorf("label on a 600x24 tile: %+v", m)
	}
}

func TestInitials(t *testing.T) {
	for name, want := range map[string]string{
		"Ada Lovelace":          "AL",
		"  grace  ":             "G",
		"":                      "",
		"élodie marie durand":   "ÉD",
		"Karl-Heinz Rummenigge": "KR",
	} {
		if got := initials(name); got != want {
			t.Errorf("initials(%q) = %q, want %q", name, got, want)
		}
	}
}
