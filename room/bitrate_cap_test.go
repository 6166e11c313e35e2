package room

import (
	"fmt"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// A camera that sends one stream is told with REMB the bitrate its tile
// needs: in a 3x3 grid of 1280x720 about 350 kbps, pinned in the
// presentation layout much more; the cap is refreshed about once a
// second.
func TestSingleStreamCameraCappedToItsTile(t *testing.T) {
	m := newManager(t)
	r, err := m.Create(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		if _, _, err := r.Join(ctxT(t), JoinRequest{Display: fmt.Sprint("filler", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// The camera also views the composite, so the room composes it.
	cam := join(t, r, "cam", testpeer.Options{Video: CodecVP8, VideoColor: red, VideoFPS: 15})
	var grid TileInfo
	if !eventually(10*time.Second, func() bool {
		tiles, _ := r.Tiles(ctxT(t))
		grid, _ = tileOf(tiles, cam.id)
		return len(tiles) == 9 && grid.Width > 0
	}) {
		t.Fatal("no 3x3 grid")
	}
	need := float32(tileBitrate(grid.Width, grid.Height))
	var bps float32
	if !eventually(5*time.Second, func() bool {
		bps, _ = cam.peer.LastREMB()
		return bps > 0.9*need && bps < 1.1*need
	}) {
		t.Fatalf("a %dx%d grid tile: REMB %.0f bps, want about %.0f", grid.Width, grid.Height, bps, need)
	}
	t.Logf("a %dx%d grid tile: REMB %.0f bps", grid.Width, grid.Height, bps)
	if bps < 250_000 || bps > 450_000 {
		t.Errorf("REMB %.0f bps for a ninth of 720p, want 250-450 kbps", bps)
	}
	if st, _ := inputStats(t, r, cam.id); st.BitrateCap != uint64(need) {
		t.Errorf("stats say a cap of %d bps, want %.0f", st.BitrateCap, need)
	}
	// Refreshed: a later REMB arrives within about a second.
	_, at := cam.peer.LastREMB()
	if !eventually(bitrateCapRefresh+time.Second, func() bool {
		_, again := cam.peer.LastREMB()
		return again.After(at)
	}) {
		t.Error("no REMB refresh")
	}

	// Pinned: the large tile needs more.
	big := pin(t, r, cam.id)
	need = float32(tileBitrate(big.Width, big.Height))
	if !eventually(3*time.Second, func() bool {
		bps, _ = cam.peer.LastREMB()
		return bps > 0.9*need && bps < 1.1*need
	}) {
		t.Fatalf("the %dx%d pinned tile: REMB %.0f bps, want about %.0f", big.Width, big.Height, bps, need)
	}
	t.Logf("the %dx%d pinned tile: REMB %.0f bps", big.Width, big.Height, bps)
	if bps < 1_500_000 {
		t.Errorf("REMB %.0f bps for the pinned tile, want >= 1.5 Mbps", bps)
	}
}
