package baresip

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FakeCamera is the picture fakevideo sends: three vertical bars of
// equal width, pure red, green and blue from left to right (as RGB).
var FakeCamera = [3][3]uint8{{255, 0, 0}, {0, 255, 0}, {0, 0, 255}}

// videoConfig is the configuration of a UA with video: the fake camera,
// a display that shows nothing, the codec module and the snapshot
// filter.
func videoConfig(o Options) []string {
	if o.Video == "" {
		return nil
	}
	w, h := o.VideoWidth, o.VideoHeight
	if w == 0 || h == 0 {
		w, h = 320, 240
	}
	lines := []string{
		"video_source fakevideo,nil",
		"video_display fakevideo,nil",
		fmt.Sprintf("video_size %dx%d", w, h),
		"video_bitrate 300000",
		"video_fps 15",
		"module fakevideo.so",
		"module snapshot.so",
	}
	switch strings.ToUpper(o.Video) {
	case "VP8":
		lines = append(lines, "module vp8.so")
	case "H264":
		lines = append(lines, "module avcodec.so")
	}
	return lines
}

// SnapshotReceived photographs the next picture the UA decodes from its
// call (the snapshot module's snapshot_recv) and returns it once the
// PNG is written. It fails when nothing is decoded before ctx ends.
func (u *UA) SnapshotReceived(ctx context.Context) (image.Image, error) {
	u.snaps++
	name := fmt.Sprintf("recv-%d.png", u.snaps)
	if _, err := u.Command("snapshot_recv", name); err != nil {
		return nil, err
	}
	path := filepath.Join(u.dir, name)
	for {
		// The file is complete when it decodes: the filter writes it on
		// the media thread while this one polls.
		if f, err := os.Open(path); err == nil {
			img, err := png.Decode(f)
			f.Close()
			if err == nil {
				return img, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: no snapshot of received video: %v", ErrNotReady, ctx.Err())
		case <-u.done:
			return nil, fmt.Errorf("%w: baresip exited: %s", ErrNotReady, u.Console())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
