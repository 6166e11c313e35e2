package hls

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// TestAudioTimelineIsContinuous starts a stream as a room does: the first
// 20 ms of the mix comes before the first keyframe (and is dropped), so
// the audio starts 20 ms after the video. Every part's audio must then
// end where the next part's begins: the first frame lasts its 1024
// samples like every other, and no part overlaps the next.
func TestAudioTimelineIsContinuous(t *testing.T) {
	m, err := NewMuxer(Config{Audio: &replayAAC{payload: make([]byte, 160)}})
	if err != nil {
		t.Fatal(err)
	}
	f := feeder{w: 160, h: 90, fps: 30, audio: true}
	if err := f.run(context.Background(), t, m, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	var next uint64
	first := true
	for seg := range uint64(2) {
		res, err := m.Resource(m.segmentName(seg))
		if err != nil {
			t.Fatal(err)
		}
		var parts fmp4.Parts
		if err := parts.Unmarshal(bytes.Join(res.Chunks, nil)); err != nil {
			t.Fatal(err)
		}
		for i, p := range parts {
			for _, tr := range p.Tracks {
				if tr.ID != audioTrackID {
					continue
				}
				if first {
					if want := uint64(20 * AudioSampleRate / 1000); tr.BaseTime != want {
						t.Errorf("the audio starts at %d, want %d (20 ms after the keyframe)", tr.BaseTime, want)
					}
					first = false
				} else if tr.BaseTime != next {
					t.Errorf("segment %d part %d: audio at %d, but the part before ended at %d", seg, i, tr.BaseTime, next)
				}
				next = tr.BaseTime
				for j, s := range tr.Samples {
					if s.Duration != aacFrameSamples {
						t.Errorf("segment %d part %d: AAC frame %d lasts %d samples", seg, i, j, s.Duration)
					}
					next += uint64(s.Duration)
				}
			}
		}
	}
	if first {
		t.Fatal("no audio in the first two segments")
	}
}
