package avsync

import (
	"testing"
	"time"
)

var cfg = Config{Tick: 20 * time.Millisecond, BaseFrames: 2, MaxFrames: 10, MaxPictureDelay: 300 * time.Millisecond, ShrinkAfter: 50}

// A voice that waits longer than its pictures delays the pictures by the
// difference (its wait a moving average that converges); the voice buffer
// is not asked to hold more.
func TestVoiceLaterDelaysPictures(t *testing.T) {
	var p Pace
	var delay time.Duration
	var frames int
	for range 200 {
		delay, frames = p.Update(cfg, Measure{VoicePlaying: true, VoiceWait: 120 * time.Millisecond,
			PictureLive: true, PictureWait: 30 * time.Millisecond, FrameInterval: 33 * time.Millisecond}, frames)
	}
	want := 120*time.Millisecond - 30*time.Millisecond - 33*time.Millisecond/2
	if d := delay - want; d < -2*time.Millisecond || d > 2*time.Millisecond {
		t.Errorf("picture delay %v, want about %v", delay, want)
	}
	if frames != 2 {
		t.Errorf("voice target %d frames, want the pictures' 2", frames)
	}
}

// Pictures later than the voice raise the voice's buffer target at once,
// bounded; when the camera stops, the target comes down one frame per
// ShrinkAfter ticks, and pictures never get a negative delay.
func TestPicturesLaterHoldTheVoice(t *testing.T) {
	var p Pace
	m := Measure{VoicePlaying: true, VoiceWait: 40 * time.Millisecond, PictureLive: true,
		PictureWait: 150 * time.Millisecond, FrameInterval: 33 * time.Millisecond}
	delay, frames := p.Update(cfg, m, 0)
	if delay != 0 || frames != 8 {
		t.Fatalf("pictures 166 ms late: delay %v, voice target %d frames (want 0 and 8)", delay, frames)
	}
	m.PictureWait = time.Second
	if _, frames = p.Update(cfg, m, frames); frames != cfg.BaseFrames+cfg.MaxFrames {
		t.Fatalf("pictures a second late: voice target %d, want the cap %d", frames, cfg.BaseFrames+cfg.MaxFrames)
	}
	m.PictureLive = false
	for range cfg.ShrinkAfter - 1 {
		if _, frames = p.Update(cfg, m, frames); frames != 12 {
			t.Fatalf("target moved before %d ticks: %d", cfg.ShrinkAfter, frames)
		}
	}
	if _, frames = p.Update(cfg, m, frames); frames != 11 {
		t.Fatalf("target after %d ticks without a camera: %d, want 11", cfg.ShrinkAfter, frames)
	}
}
