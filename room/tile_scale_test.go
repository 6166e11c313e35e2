package room

import (
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
)

// A tick tells each camera the size of its tile; the decode worker then
// scales the camera's pictures to it (once per picture, off the tick),
// keeping their colour, and leaves pictures alone while no tile is known
// or when they already fit.
func TestPicturesScaledToTheirTile(t *testing.T) {
	r, err := newRoom(Config{ID: 1}, nil, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.video.close()
	pool := codec.NewFramePool(4)
	red := codec.RGB(220, 30, 30)
	pic := func(w, h int) *codec.Frame {
		f := pool.Get(w, h)
		f.Fill(red)
		return f
	}
	var ins []*videoInput
	for i := range 9 {
		in := &videoInput{codec: CodecVP8, log: testLogger(t)}
		in.recent = []decoded{{f: pic(640, 360), at: time.Now(), version: uint64(i + 1)}}
		defer in.close()
		ins = append(ins, in)
		p := &participant{id: ParticipantID(i + 1), display: "cam", vin: in}
		r.parts[p.id], r.order = p, append(r.order, p)
	}
	in := ins[0]
	f := pic(640, 360)
	if g, err := in.fitTile(f, pool); err != nil || g != f {
		t.Fatalf("no tile known yet: %v, scaled anyway (%v)", g != f, err)
	}
	viewer := &participant{id: 100, vout: newOutput(discard{}, videoQueueLen)}
	defer viewer.vout.close()
	r.parts[viewer.id], r.order = viewer, append(r.order, viewer)
	r.addViewer(viewer, outputKey{CodecVP8, 0})
	r.videoTick(time.Now())

	tile := r.video.tiles[0].Rect
	if got := in.tile.Load(); got != uint64(tile.Dx())<<32|uint64(tile.Dy()) {
		t.Fatalf("input told tile %#x, its tile is %v", got, tile)
	}
	g, err := in.fitTile(f, pool)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	// 640x360 in a 3x3 grid tile of 1280x720: the tile's own size.
	if g.Width != tile.Dx() || g.Height != tile.Dy() {
		t.Fatalf("scaled to %dx%d, tile %v", g.Width, g.Height, tile)
	}
	if c := g.Mean(g.Bounds()); c.Distance(red) > 2 {
		t.Errorf("scaled picture %+v, want %+v", c, red)
	}
	if again, err := in.fitTile(g, pool); err != nil || again != g {
		t.Errorf("a picture that fits was scaled again (%v)", err)
	}
}

type discard struct{}

func (discard) WriteFrame(Frame) error { return nil }
