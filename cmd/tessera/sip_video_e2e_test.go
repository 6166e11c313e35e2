package main

import (
	"context"
	"image"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/internal/baresip"
	"github.com/tessera-mcu/tessera/internal/e2etool"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// Debian's baresip calls the demo room with video (VP8 with its own
// module; H.264 with baresip-ffmpeg's avcodec module, when installed),
// its fakevideo camera sending red, green and blue vertical bars, while
// a WebRTC participant sends a magenta picture: the phone's tile in the
// participant's composite shows the three bars in their order, and the
// composite the phone receives decodes (its snapshot filter photographs
// a decoded picture) and shows the participant's magenta in the
// participant's tile.
func TestBaresipVideoInARoom(t *testing.T) {
	e2etool.Need(t, "baresip")
	for _, c := range []string{"VP8", "H264"} {
		t.Run(c, func(t *testing.T) {
			if c == "H264" {
				if _, err := os.Stat(baresip.ModulePath + "/avcodec.so"); err != nil {
					t.Skip("no avcodec module (Debian package baresip-ffmpeg)")
				}
			}
			baresipVideoCall(t, c)
		})
	}
}

func baresipVideoCall(t *testing.T, videoCodec string) {
	addr, sipPort := startSIPServer(t)
	magenta := [3]uint8{200, 40, 200}
	web, peer := joinMCU(t, addr, "web", testpeer.Options{ToneHz: 440, Video: "vp8",
		VideoColor: codec.RGB(magenta[0], magenta[1], magenta[2])})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	phone := callRoom(t, ctx, sipPort, baresip.Options{ToneHz: 660, User: "roomsystem", Video: videoCodec})
	var phoneID, webID uint64
	if !eventuallyTrue(5*time.Second, func() bool {
		ids := participantIDs(web)
		phoneID, webID = ids["roomsystem"], ids["web"]
		return phoneID != 0 && webID != 0
	}) {
		t.Fatalf("the room lists %q", listParticipants(web))
	}

	// (a) The phone's camera in the WebRTC participant's composite.
	var bars []string
	if !eventuallyTrue(10*time.Second, func() bool {
		x, y, w, h, cw, ok := tileOf(web, phoneID)
		f := peer.VideoFrame()
		if !ok || f == nil {
			return false
		}
		bars = barsAcross(f, x, y, w, h, cw)
		return len(bars) == 3 && bars[0] == "red" && bars[1] == "green" && bars[2] == "blue"
	}) {
		t.Fatalf("the phone's tile shows the colours %q from left to right, want red, green, blue\n%s", bars, phone.Console())
	}

	// (b) What the phone receives decodes, and shows the participant.
	var seen [3]uint8
	if !eventuallyTrue(10*time.Second, func() bool {
		sctx, scancel := context.WithTimeout(ctx, 3*time.Second)
		defer scancel()
		img, err := phone.SnapshotReceived(sctx)
		if err != nil {
			t.Logf("snapshot: %v", err)
			return false
		}
		x, y, w, h, cw, ok := tileOf(web, webID)
		if !ok {
			return false
		}
		seen = imageMean(img, x, y, w, h, cw)
		return rgbNear(seen, magenta, 40)
	}) {
		t.Fatalf("the phone's picture of the participant's tile is %v, want magenta %v\n%s", seen, magenta, phone.Console())
	}
	if enc := "Set video encoder: " + videoCodec; !strings.Contains(phone.Console(), enc) {
		t.Errorf("the phone did not say %q:\n%s", enc, phone.Console())
	}
	t.Logf("the WebRTC participant sees the phone's bars %q; the phone sees the participant as %v", bars, seen)
}

// barsAcross names, left to right, the pure colours (red, green, blue)
// that fill the middle band of a tile (canvas coordinates) of a decoded
// composite, each run counted once however wide.
func barsAcross(f *codec.Frame, x, y, w, h, canvasW int) []string {
	s := float64(f.Width) / float64(canvasW)
	fx, fy, fw, fh := int(float64(x)*s), int(float64(y)*s), int(float64(w)*s), int(float64(h)*s)
	named := []struct {
		name string
		c    codec.YUV
	}{{"red", codec.RGB(255, 0, 0)}, {"green", codec.RGB(0, 255, 0)}, {"blue", codec.RGB(0, 0, 255)}}
	var out []string
	for cx := fx; cx+4 <= fx+fw; cx += 4 {
		c := f.Mean(codec.R(cx, fy+fh*2/5, 4, fh/5))
		for _, n := range named {
			if c.Distance(n.c) <= 40 && (len(out) == 0 || out[len(out)-1] != n.name) {
				out = append(out, n.name)
			}
		}
	}
	return out
}

// imageMean is the mean RGB colour of the middle of a tile (canvas
// coordinates) in a decoded picture.
func imageMean(img image.Image, x, y, w, h, canvasW int) [3]uint8 {
	b := img.Bounds()
	s := float64(b.Dx()) / float64(canvasW)
	x0, y0 := b.Min.X+int(float64(x+w*3/10)*s), b.Min.Y+int(float64(y+h*3/10)*s)
	x1, y1 := x0+int(float64(w*4/10)*s), y0+int(float64(h*3/10)*s)
	var sum [3]uint64
	n := uint64(0)
	for py := y0; py < y1; py++ {
		for px := x0; px < x1; px++ {
			r, g, bl, _ := img.At(px, py).RGBA()
			sum[0] += uint64(r >> 8)
			sum[1] += uint64(g >> 8)
			sum[2] += uint64(bl >> 8)
			n++
		}
	}
	if n == 0 {
		return [3]uint8{}
	}
	return [3]uint8{uint8(sum[0] / n), uint8(sum[1] / n), uint8(sum[2] / n)}
}

// rgbNear tells whether every channel of a is within tol of b's.
func rgbNear(a, b [3]uint8, tol int) bool {
	for i := range a {
		if d := int(a[i]) - int(b[i]); d > tol || d < -tol {
			return false
		}
	}
	return true
}
