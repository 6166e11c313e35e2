package room

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/mixer"
)

// inputStats returns the stats of a participant's camera (ok false: none).
func inputStats(t *testing.T, r *Room, id ParticipantID) (VideoInputStats, bool) {
	t.Helper()
	s, err := r.Stats(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range s.VideoInputs {
		if in.Participant == id {
			return in, true
		}
	}
	return VideoInputStats{}, false
}

// tileOf finds a participant's tile.
func tileOf(tiles []TileInfo, id ParticipantID) (TileInfo, bool) {
	for _, t := range tiles {
		if t.Participant == id {
			return t, true
		}
	}
	return TileInfo{}, false
}

// pin puts the room in the presentation layout with id in the large tile
// and returns that tile once the room shows it.
func pin(t *testing.T, r *Room, id ParticipantID) TileInfo {
	t.Helper()
	if err := r.SetLayout(ctxT(t), mixer.LayoutPresentation, id); err != nil {
		t.Fatal(err)
	}
	var big TileInfo
	if !eventually(2*time.Second, func() bool {
		tiles, _ := r.Tiles(ctxT(t))
		big, _ = tileOf(tiles, id)
		return big.Large
	}) {
		t.Fatal("the pinned camera's tile is not the large one")
	}
	return big
}

// A simulcast camera (three layers, each its own size and colour) in a
// 3x3 grid: the room decodes the smallest layer that covers the tile and
// drops the others' packets; pinned in the presentation layout, the input
// moves to the full layer within a second, and the viewer's composite
// shows the camera in that tile all along (never the placeholder); back
// in the grid, it moves down again only after the hold; a layer that
// stops is replaced by one that flows.
func TestSimulcastLayerFollowsTile(t *testing.T) {
	for _, name := range []string{CodecVP8, CodecH264} {
		t.Run(name, func(t *testing.T) { testSimulcastLayers(t, name) })
	}
}

func testSimulcastLayers(t *testing.T, codecName string) {
	m := newManager(t)
	const canvasW, canvasH = 640, 360
	r, err := m.Create(Config{Video: VideoConfig{Width: canvasW, Height: canvasH}})
	if err != nil {
		t.Fatal(err)
	}
	// Eight participants without cameras fill the grid with placeholders
	// (the viewer, which sends nothing, takes no tile).
	for i := range 8 {
		if _, _, err := r.Join(ctxT(t), JoinRequest{Display: fmt.Sprint("filler", i)}); err != nil {
			t.Fatal(err)
		}
	}
	layers := []testpeer.Layer{
		{RID: "q", Width: 192, Height: 108, Color: red},
		{RID: "h", Width: 320, Height: 180, Color: green},
		{RID: "f", Width: 640, Height: 360, Color: blue},
	}
	// The camera sends only; a viewer decodes the composite.
	cam := join(t, r, "cam", testpeer.Options{Video: codecName, VideoFPS: 15, Simulcast: layers, SendOnly: true})
	viewer := join(t, r, "viewer", testpeer.Options{Video: CodecVP8, RecvOnly: true})
	if err := compositeShows(t, r, viewer.peer, map[ParticipantID]codec.YUV{cam.id: red}, 15*time.Second); err != nil {
		t.Fatalf("the grid tile: %v", err)
	}
	st, _ := inputStats(t, r, cam.id)
	grid, _ := r.Tiles(ctxT(t))
	gridTile, _ := tileOf(grid, cam.id)
	t.Logf("grid tile %dx%d: layer %q %dx%d of %d, %d packets of other layers dropped",
		gridTile.Width, gridTile.Height, st.Layer, st.LayerWidth, st.LayerHeight, st.Layers, st.LayerDropped)
	if len(grid) != 9 || st.Layer != "q" || st.Layers != 3 || st.LayerDropped == 0 {
		t.Fatalf("in a %d-tile grid the camera decodes layer %q of %d (%d packets dropped), want q of 3 with the others dropped",
			len(grid), st.Layer, st.Layers, st.LayerDropped)
	}
	if st.LayerWidth != 192 {
		t.Errorf("layer q is %dx%d, want 192 wide", st.LayerWidth, st.LayerHeight)
	}

	// shows tells whether a composite shows the camera (in one of the
	// layers' colours) in its tile of either layout: a frame composed
	// just before or after the layout change is drawn with either.
	shows := func(f *codec.Frame, tiles ...TileInfo) (codec.YUV, bool) {
		var got codec.YUV
		for _, tile := range tiles {
			got = tileColor(f, tile, canvasW)
			for _, l := range layers {
				if got.Distance(l.Color) <= 24 {
					return got, true
				}
			}
		}
		return got, false
	}
	// watch samples the viewer's composite until done holds, failing on
	// a frame where the camera's tile shows something else.
	watch := func(what string, d time.Duration, done func(VideoInputStats, *codec.Frame) bool, tiles ...TileInfo) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			f := viewer.peer.VideoFrame()
			if c, ok := shows(f, tiles...); !ok {
				t.Fatalf("%s: the camera's tile shows %+v (not the camera) %v after the change", what, c, time.Since(start))
			}
			st, _ := inputStats(t, r, cam.id)
			if done(st, f) {
				return time.Since(start)
			}
			if time.Since(start) > d {
				t.Fatalf("%s: not done after %v: layer %q, %d switches", what, d, st.Layer, st.LayerSwitches)
			}
			time.Sleep(15 * time.Millisecond)
		}
	}

	// Pinned: the full layer.
	switches := st.LayerSwitches
	from := time.Now()
	big := pin(t, r, cam.id)
	took := watch("pinned", 5*time.Second, func(st VideoInputStats, f *codec.Frame) bool {
		c, _ := shows(f, big)
		return st.Layer == "f" && c.Distance(blue) <= 24
	}, gridTile, big)
	st, _ = inputStats(t, r, cam.id)
	t.Logf("pinned (tile %dx%d): layer %q %dx%d shown %v after the layout change",
		big.Width, big.Height, st.Layer, st.LayerWidth, st.LayerHeight, took)
	if limit := allowed(time.Second, from, from.Add(took)); took > limit {
		t.Errorf("the full layer took %v, want <= %v", took, limit)
	}
	if n := st.LayerSwitches - switches; n != 1 {
		t.Errorf("%d layer switches, want 1 (q to f)", n)
	}

	// Back in the grid: the full layer stays for the hold, then the
	// smallest comes back.
	if err := r.SetLayout(ctxT(t), mixer.LayoutGrid, 0); err != nil {
		t.Fatal(err)
	}
	took = watch("back in the grid", 6*time.Second, func(st VideoInputStats, _ *codec.Frame) bool {
		return st.Layer == "q"
	}, gridTile, big)
	if took < layerDownHold-100*time.Millisecond {
		t.Errorf("moved down %v after the tile shrank, before the %v hold", took, layerDownHold)
	}
	t.Logf("back in the grid: layer q again after %v", took)
	if err := compositeShows(t, r, viewer.peer, map[ParticipantID]codec.YUV{cam.id: red}, 3*time.Second); err != nil {
		t.Fatalf("back in the grid: %v", err)
	}

	// The browser drops the layer decoded: the input falls back to one
	// that flows (h, the smallest left that covers the tile), and the
	// tile never shows the placeholder.
	stop := time.Now()
	cam.peer.StopLayer("q")
	took = watch("layer q stopped", 5*time.Second, func(st VideoInputStats, f *codec.Frame) bool {
		c, _ := shows(f, gridTile)
		return st.Layer == "h" && c.Distance(green) <= 24
	}, gridTile)
	t.Logf("layer q stopped: layer h shown after %v", took)
	if limit := allowed(layerIdle+time.Second, stop, stop.Add(took)); took > limit {
		t.Errorf("falling back took %v, want <= %v", took, limit)
	}

	// The manager's counters (Prometheus's) have every switch and every
	// packet let go, as the input counted them.
	st, _ = inputStats(t, r, cam.id)
	if c := m.Counters(); c.LayerSwitches != st.LayerSwitches || c.LayerSwitches < 3 || c.LayerDroppedPackets < st.LayerDropped {
		t.Errorf("manager counts %d layer switches and %d packets dropped; the input %d and %d",
			c.LayerSwitches, c.LayerDroppedPackets, st.LayerSwitches, st.LayerDropped)
	}
}

// An offer of a simulcast camera (a=simulcast:send with three RIDs) is
// answered with simulcast receive of the three.
func TestSimulcastOfferAnswered(t *testing.T) {
	m := newManager(t)
	r, err := m.Create(Config{})
	if err != nil {
		t.Fatal(err)
	}
	me, _, err := r.Join(ctxT(t), JoinRequest{Display: "cam"})
	if err != nil {
		t.Fatal(err)
	}
	peer, err := testpeer.New(testpeer.Options{Video: CodecVP8, Simulcast: []testpeer.Layer{
		{RID: "q", Width: 160, Height: 90}, {RID: "h", Width: 320, Height: 180}, {RID: "f", Width: 640, Height: 360}}})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	offer, err := peer.Offer()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(offer, "a=simulcast:send q;h;f") {
		t.Fatalf("the offer has no simulcast:\n%s", offer)
	}
	answer, err := offerTo(ctxT(t), r, me.ID, offer)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a=simulcast:recv q;h;f", "a=rid:q recv", "a=rid:f recv", sdp.SDESRTPStreamIDURI, sdp.SDESMidURI} {
		if !strings.Contains(answer, want) {
			t.Errorf("the answer has no %q:\n%s", want, answer)
		}
	}
}
