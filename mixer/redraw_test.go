package mixer

import (
	"testing"

	"github.com/tessera-mcu/tessera/codec"
)

// On the same canvas, a tile whose source keeps its Version is left as it
// was drawn (a new picture under the same Version does not show), one
// with a new Version is drawn again, and a new speaker, another canvas or
// a Version of 0 redraws everything.
func TestComposeRedrawsOnlyChangedTiles(t *testing.T) {
	c := mustCompositor(t, CompositorConfig{})
	sources := colourSources(4, 640, 360)
	for i := range sources {
		sources[i].Version = 1
	}
	dst := codec.NewFrame(1280, 720)
	step := func(what string, speaker SourceID, wantDrawn, wantKept uint64) []Tile {
		t.Helper()
		d0, k0 := c.Redraws()
		tiles, err := c.Compose(dst, sources, speaker)
		if err != nil {
			t.Fatal(err)
		}
		if d, k := c.Redraws(); d-d0 != wantDrawn || k-k0 != wantKept {
			t.Errorf("%s: %d tiles drawn, %d kept; want %d and %d", what, d-d0, k-k0, wantDrawn, wantKept)
		}
		return tiles
	}
	colourOf := func(i int, tiles []Tile) codec.YUV { return dst.Mean(inner(tiles[i].Rect)) }

	tiles := step("first", 0, 4, 0)
	step("unchanged", 0, 0, 4)

	// Same Version, other picture: not drawn (the caller said nothing changed).
	green := tileColours[1]
	sources[0].Frame = solid(640, 360, green)
	tiles = step("same version", 0, 0, 4)
	if got := colourOf(0, tiles); got.Distance(tileColours[0]) > 3 {
		t.Errorf("tile 0 redrawn under the same version: %+v", got)
	}
	// New Version: that tile alone is drawn, and the others keep their pixels.
	sources[0].Version = 2
	tiles = step("new version", 0, 1, 3)
	for i := range 4 {
		want := tileColours[i]
		if i == 0 {
			want = green
		}
		if got := colourOf(i, tiles); got.Distance(want) > 3 {
			t.Errorf("tile %d = %+v, want %+v", i, got, want)
		}
	}
	// A speaker frames its tile: everything is drawn again, with the border.
	tiles = step("speaker", sources[2].ID, 4, 0)
	if !hasBorder(dst, tiles[2].Rect, DefaultBorderColor) {
		t.Error("no border around the speaker")
	}
	// The speaker's own tile changes: its border is drawn again with it.
	sources[2].Version, sources[2].Frame = 2, solid(640, 360, tileColours[3])
	tiles = step("speaker's picture", sources[2].ID, 1, 3)
	if !hasBorder(dst, tiles[2].Rect, DefaultBorderColor) {
		t.Error("the speaker's redrawn tile lost its border")
	}
	step("speaker gone", 0, 4, 0)
	if hasBorder(dst, tiles[2].Rect, DefaultBorderColor) {
		t.Error("the border stayed after the speaker changed")
	}
	// A name change redraws the tile (its label).
	sources[1].Name = "Renamed"
	step("rename", 0, 1, 3)
	// Version 0 is always drawn.
	sources[3].Version = 0
	step("version 0", 0, 1, 3)
	// Another canvas: everything.
	dst = codec.NewFrame(1280, 720)
	step("new canvas", 0, 4, 0)
	// Another layout (five tiles): everything.
	sources = append(sources, colourSources(5, 640, 360)[4])
	step("fifth source", 0, 5, 0)
}
