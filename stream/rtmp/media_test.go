package rtmp

import (
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/h264"
)

const (
	testFPS    = 30
	toneFreq   = 440
	toneAmp    = 0.3
	audioRate  = 48000
	audioChunk = 960 // 20 ms
)

// room makes what a room's stream goroutine hands a StreamSink: a moving
// 640x360 test pattern encoded by codec/h264 (a keyframe every 2 s, and on
// request) and 20 ms chunks of a 440 Hz tone, each with its pts, in pts
// order.
type room struct {
	t      testing.TB
	enc    *h264.Encoder
	pic    *codec.Frame
	frames int // video frames made
	chunks int // audio chunks made
	pcm    []int16
	tone   int
}

func newRoom(t testing.TB) *room {
	t.Helper()
	enc, err := h264.NewEncoder(h264.EncoderConfig{Width: 640, Height: 360, FPS: testFPS, Bitrate: 800_000, KeyframeInterval: 2 * testFPS})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	return &room{t: t, enc: enc, pic: codec.NewFrame(640, 360), pcm: make([]int16, audioChunk)}
}

// forceKeyframe is the room's answer to the Pusher's keyframe requests.
func (r *room) forceKeyframe() { r.enc.ForceKeyframe() }

// next returns the pts of the next frame, audio or video, without making it.
func (r *room) next() time.Duration {
	return min(r.videoPTS(), r.audioPTS())
}

func (r *room) videoPTS() time.Duration { return time.Duration(r.frames) * time.Second / testFPS }
func (r *room) audioPTS() time.Duration { return time.Duration(r.chunks) * 20 * time.Millisecond }

// write makes the next frame and writes it to sink; it returns how long
// the Write call took.
func (r *room) write(sink interface {
	WriteVideo([]byte, bool, time.Duration) error
	WriteAudio([]int16, time.Duration) error
}) time.Duration {
	r.t.Helper()
	if r.videoPTS() <= r.audioPTS() {
		pts := r.videoPTS()
		codectest.MovingPicture(r.pic, r.frames)
		pkt, err := r.enc.Encode(r.pic)
		if err != nil {
			r.t.Fatal(err)
		}
		r.frames++
		if len(pkt.Data) == 0 {
			return 0
		}
		start := time.Now()
		if err := sink.WriteVideo(pkt.Data, pkt.Keyframe, pts); err != nil {
			r.t.Fatalf("WriteVideo: %v", err)
		}
		return time.Since(start)
	}
	pts := r.audioPTS()
	r.tone = codectest.Tone(r.pcm, 1, audioRate, toneFreq, toneAmp, r.tone)
	r.chunks++
	start := time.Now()
	if err := sink.WriteAudio(r.pcm, pts); err != nil {
		r.t.Fatalf("WriteAudio: %v", err)
	}
	return time.Since(start)
}

// feed writes frames up to media time until, pacing them at speed times
// real time from the wall-clock instant start (for media time from), and
// returns the longest Write call.
func (r *room) feed(sink interface {
	WriteVideo([]byte, bool, time.Duration) error
	WriteAudio([]int16, time.Duration) error
}, until time.Duration, speed float64) time.Duration {
	var longest time.Duration
	start, from := time.Now(), r.next()
	for r.next() < until {
		if ahead := time.Duration(float64(r.next()-from)/speed) - time.Since(start); ahead > 0 {
			time.Sleep(ahead)
		}
		longest = max(longest, r.write(sink))
	}
	return longest
}
