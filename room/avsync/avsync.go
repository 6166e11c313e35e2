// Package avsync keeps one participant's voice and pictures together in
// what the room mixes and composes, as a browser's receiver does: the
// later of the two sets the pace. A voice waits in its jitter buffer
// before it is mixed (longer on a jittery network); a picture waits for
// its packets (retransmissions of lost ones included) and its decode,
// then for the next composite, half a frame interval on average. When
// voices wait longer, the composite shows the camera's picture from that
// much earlier; when pictures do (a lossy link), the voice's jitter buffer
// holds more. Both waits are moving averages over about a second, so
// nothing jumps.
//
// The policy is pure: the room feeds it each tick's measurements and
// applies its two answers, a picture delay and a voice buffer target.
package avsync

import "time"

// Config bounds the policy.
type Config struct {
	// Tick is the audio tick (and jitter-buffer frame) length.
	Tick time.Duration
	// BaseFrames is the jitter buffer's own target depth, in frames;
	// MaxFrames how much deeper than that a voice may be asked to run.
	BaseFrames, MaxFrames int
	// MaxPictureDelay bounds how late pictures are shown.
	MaxPictureDelay time.Duration
	// ShrinkAfter is how many ticks a lower voice target must hold before
	// the target comes down a frame (as fast as the buffer sheds a frame
	// it no longer needs, so speech is never clipped to catch up).
	ShrinkAfter int
}

// Pace is one participant's lip-sync state. The zero value starts with
// no wait measured.
type Pace struct {
	voiceWait float64 // seconds, moving average
	held      int     // ticks since the voice target last went down
}

// Measure is one tick's view of a participant's two media.
type Measure struct {
	// VoicePlaying: the tick carries the participant's voice; VoiceWait is
	// how long the packet played waited since it arrived.
	VoicePlaying bool
	VoiceWait    time.Duration
	// PictureLive: the camera decoded a picture recently; PictureWait is
	// the pictures' wait from first packet to decoded (a moving average),
	// FrameInterval the composite's.
	PictureLive   bool
	PictureWait   time.Duration
	FrameInterval time.Duration
}

// Update takes one tick's measurements and the voice buffer's current
// target, and returns how late the participant's pictures are to be shown
// (only meaningful with a live camera) and the target depth, in frames,
// its voice's jitter buffer is to hold (0: the buffer's own).
func (p *Pace) Update(c Config, m Measure, current int) (pictureDelay time.Duration, voiceFrames int) {
	if m.VoicePlaying {
		p.voiceWait += (m.VoiceWait.Seconds() - p.voiceWait) * 0.05
	}
	frames := 0
	if m.PictureLive {
		pictureWait := m.PictureWait + m.FrameInterval/2
		voiceWait := time.Duration(p.voiceWait * float64(time.Second))
		pictureDelay = min(max(voiceWait-pictureWait, 0), c.MaxPictureDelay)
		// The buffer depth whose wait matches the pictures' (a voice
		// waits about half a tick more than what is buffered ahead).
		frames = int((pictureWait - c.Tick/2 + c.Tick - 1) / c.Tick)
	}
	// A camera that stopped sets no pace: the voice goes back to the
	// buffer's own depth.
	frames = min(max(frames, 0), c.BaseFrames+c.MaxFrames)
	// Up at once; down a frame at a time.
	if frames >= current {
		p.held = 0
		return pictureDelay, frames
	}
	if p.held++; p.held >= c.ShrinkAfter {
		p.held = 0
		return pictureDelay, current - 1
	}
	return pictureDelay, current
}
