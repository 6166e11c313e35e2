package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// viewer is a participant that receives the composite.
type viewer interface {
	pictures() uint64 // composite pictures decoded so far
	pictureSize() (w, h int)
}

// webViewer is a WebRTC participant's side of the composite.
type webViewer struct{ p *testpeer.Peer }

func (v webViewer) pictures() uint64 {
	n, _, _ := v.p.VideoStats()
	return n
}

func (v webViewer) pictureSize() (int, int) {
	f := v.p.VideoFrame()
	if f == nil {
		return 0, 0
	}
	return f.Width, f.Height
}

func (v *roomVideo) pictures() uint64 { return v.decoded.Load() }

func (v *roomVideo) pictureSize() (int, int) {
	s := v.size.Load()
	return int(s >> 32), int(s & 0xffffffff)
}

// compositeRate reads the composite pictures a second decoded by the
// slowest of vs over a window, and records in sizes the picture sizes
// they last decoded.
func compositeRate(vs []viewer, sizes *string) func() func(float64) float64 {
	return func() func(float64) float64 {
		start := make([]uint64, len(vs))
		for i, v := range vs {
			start[i] = v.pictures()
		}
		return func(secs float64) float64 {
			low := 1e9
			var seen []string
			for i, v := range vs {
				low = min(low, float64(v.pictures()-start[i])/secs)
				w, h := v.pictureSize()
				if s := fmt.Sprintf("%dx%d", w, h); !slices.Contains(seen, s) {
					seen = append(seen, s)
				}
			}
			slices.Sort(seen)
			*sizes = strings.Join(seen, ", ")
			return low
		}
	}
}

// palette gives the cameras distinct colours.
var palette = []codec.YUV{
	codec.RGB(200, 40, 40), codec.RGB(40, 160, 60), codec.RGB(40, 70, 200), codec.RGB(220, 200, 40),
	codec.RGB(160, 60, 180), codec.RGB(40, 180, 190), codec.RGB(230, 130, 30), codec.RGB(120, 120, 120),
}

// cameraOf is the i-th participant's camera: cam in two colours of the
// palette.
func cameraOf(cam camera, i int) camera {
	cam.color, cam.color2 = palette[i%len(palette)], palette[(i+3)%len(palette)]
	return cam
}

func webVideoOptions(cam camera, codecName string, i int) testpeer.Options {
	c := cameraOf(cam, i)
	return testpeer.Options{ToneHz: 950, Amplitude: quietLevel, Video: codecName,
		VideoColor: c.color, VideoColor2: c.color2, VideoWidth: c.width, VideoHeight: c.height,
		VideoFPS: c.fps, VideoNoise: c.noise}
}

// leaveQuiet hangs up every participant but the first talkers WebRTC
// ones.
func (b *bench) leaveQuiet(talkers int) {
	for _, ph := range b.phones {
		ph.hangup()
	}
	b.phones = nil
	for _, j := range b.webrtc[talkers:] {
		j.close()
	}
	b.webrtc = b.webrtc[:talkers]
}

// addRoomSystems calls count SIP room systems named name0, name1...,
// their cameras coloured from the palette's entry offset on.
func (b *bench) addRoomSystems(count int, name string, k audioKind, cam camera, offset int) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range count {
		c := cameraOf(cam, offset+i)
		ph, err := b.ua.call(ctx, fmt.Sprintf("%s%d", name, i), k, &c)
		if err != nil {
			return fmt.Errorf("%s%d: %w", name, i, err)
		}
		b.phones = append(b.phones, ph)
	}
	return nil
}

// videoSteps measures video participants in the room of the talkers: one
// WebRTC and one SIP video participant keep the composite running in the
// outputs the steps use (the WebRTC camera codec and H.264 for the room
// systems), then m WebRTC video participants join, then m SIP room
// systems. Each step's cost is its extra CPU divided by m.
func (b *bench) videoSteps(talkers, m int, cam camera, codecName string, k audioKind) error {
	fmt.Printf("\n| video step | participants | server CPU (%% of a core) | added CPU per participant (ms per participant-second) | composite fps received (min of the step's) | composite sizes received |\n")
	fmt.Printf("|---|---:|---:|---:|---:|---|\n")
	row := func(step string, cpu, prev float64, count int, fps float64, sizes string) {
		per := "-"
		if count > 0 {
			per = fmt.Sprintf("%.2f", (cpu-prev)*1000/float64(count))
		}
		fmt.Printf("| %s | %d | %.1f | %s | %.1f | %s |\n", step, len(b.webrtc)+len(b.phones), cpu*100, per, fps, sizes)
	}
	var sizes string

	if err := b.addWebRTC(1, "anchor-webrtc", func(int) testpeer.Options { return webVideoOptions(cam, codecName, 0) }); err != nil {
		return err
	}
	if err := b.addRoomSystems(1, "anchor-sip", k, cam, 1); err != nil {
		return err
	}
	anchors := []viewer{webViewer{b.webrtc[len(b.webrtc)-1].peer}, b.phones[len(b.phones)-1].video}
	base, fps, err := b.measure(compositeRate(anchors, &sizes))
	if err != nil {
		return err
	}
	row(fmt.Sprintf("%d talkers + 1 WebRTC %s video + 1 SIP H.264 video", talkers, codecName), base, 0, 0, fps, sizes)

	from := len(b.webrtc)
	if err := b.addWebRTC(m, "webrtc-video", func(i int) testpeer.Options { return webVideoOptions(cam, codecName, 2+i) }); err != nil {
		return err
	}
	var vs []viewer
	for _, j := range b.webrtc[from:] {
		vs = append(vs, webViewer{j.peer})
	}
	withWeb, fps, err := b.measure(compositeRate(vs, &sizes))
	if err != nil {
		return err
	}
	row(fmt.Sprintf("+%d WebRTC video (%s, %dx%d@%d)", m, codecName, cam.width, cam.height, cam.fps), withWeb, base, m, fps, sizes)

	fromPh := len(b.phones)
	if err := b.addRoomSystems(m, "sip-video", k, cam, 2+m); err != nil {
		return err
	}
	vs = vs[:0]
	for _, ph := range b.phones[fromPh:] {
		vs = append(vs, ph.video)
	}
	withSIP, fps, err := b.measure(compositeRate(vs, &sizes))
	if err != nil {
		return err
	}
	row(fmt.Sprintf("+%d SIP video (PCMU + H.264, %dx%d@%d)", m, cam.width, cam.height, cam.fps), withSIP, withWeb, m, fps, sizes)
	return nil
}
