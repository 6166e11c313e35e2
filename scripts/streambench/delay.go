package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// delays measures camera-to-player delay through RTMP (nginx serving the
// push live) and HLS, rounds times each over window.
func (b *bench) delays() error {
	j, cam, err := join(b.addr, "camera", testpeer.Options{ToneHz: 440, Video: "h264", VideoCounter: true, VideoFPS: 30,
		VideoWidth: 640, VideoHeight: 360, VideoColor: codec.RGB(40, 90, 200), SendOnly: true})
	if err != nil {
		return err
	}
	defer j.close()
	defer cam.Close()
	time.Sleep(3 * time.Second)
	fmt.Printf("| path | run | pictures | p50 (ms) | p95 (ms) | max (ms) |\n|---|---:|---:|---:|---:|---:|\n")
	var rtmp50, rtmp95, hls50, hls95 []float64
	for r := range b.rounds {
		var lat []time.Duration
		if err := b.withPush(j, func() error {
			var err error
			lat, err = b.readBack(cam, b.ngx.URL(fmt.Sprintf("bench%d", b.pushes)))
			return err
		}); err != nil {
			return err
		}
		p50, p95 := report("RTMP (nginx, live)", r, lat)
		rtmp50, rtmp95 = append(rtmp50, p50), append(rtmp95, p95)
	}
	for r := range b.rounds {
		lat, err := b.readBack(cam, b.hlsURL(), "-live_start_index", "-1")
		if err != nil {
			return err
		}
		time.Sleep(b.idle + 2*time.Second)
		p50, p95 := report("HLS (ffmpeg on the playlist)", r, lat)
		hls50, hls95 = append(hls50, p50), append(hls95, p95)
	}
	fmt.Printf("\nmedian of the runs: RTMP p50 %.0f ms, p95 %.0f ms; HLS p50 %.0f ms, p95 %.0f ms\n",
		median(rtmp50), median(rtmp95), median(hls50), median(hls95))
	return nil
}

// readBack plays url with ffmpeg for the window (after the player has
// warmed up for 3 s) and returns, for every numbered picture it shows for
// the first time, how long after the camera sent it.
func (b *bench) readBack(cam *testpeer.Peer, url string, args ...string) ([]time.Duration, error) {
	p, err := startPlayer(url, args...)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	f := codec.NewFrame(1280, 720)
	for i := range f.U {
		f.U[i], f.V[i] = 128, 128
	}
	from := time.Now().Add(3 * time.Second)
	to := from.Add(b.window)
	seen := map[int]bool{}
	var lat []time.Duration
	for time.Now().Before(to) {
		if _, err := io.ReadFull(p.out, f.Y); err != nil {
			return nil, fmt.Errorf("reading %s: %w", url, err)
		}
		at := time.Now()
		n, ok := testpeer.ReadCounter(f)
		if !ok || seen[n] {
			continue
		}
		seen[n] = true // counted where it first shows
		if at.Before(from) {
			continue
		}
		if sent, ok := cam.SentAt(n); ok && at.After(sent) && at.Sub(sent) < 30*time.Second {
			lat = append(lat, at.Sub(sent))
		}
	}
	if len(lat) == 0 {
		return nil, fmt.Errorf("no numbered picture read back from %s", url)
	}
	return lat, nil
}

// report prints one run's row and returns its p50 and p95 in ms.
func report(path string, run int, lat []time.Duration) (float64, float64) {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	fmt.Printf("| %s | %d | %d | %.0f | %.0f | %.0f |\n", path, run+1, len(lat), pct(0.5), pct(0.95), float64(lat[len(lat)-1].Microseconds())/1000)
	return pct(0.5), pct(0.95)
}
