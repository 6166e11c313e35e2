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
	for seg := uint64(1); seg <= 2; seg++ {
		res, err := m.Resource(context.Background(), m.segmentName(seg))
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

// TestPartAudioCoversItsVideo feeds the muxer as a room does, through the
// real AAC encoder, whose frames come out a frame or two after the PCM
// went in. Every part's audio must still reach the end of its video: a
// player's buffer of muxed audio and video holds only what both tracks
// cover, and a part whose audio stops short leaves a hole at each part
// boundary that hls.js answers by reloading the segment.
func TestPartAudioCoversItsVideo(t *testing.T) {
	enc, closeEnc, err := newTestAudio()
	if err != nil {
		t.Fatal(err)
	}
	defer closeEnc()
	m, err := NewMuxer(Config{Audio: enc})
	if err != nil {
		t.Fatal(err)
	}
	if err := (feeder{w: 160, h: 90, fps: 30, audio: true}).run(context.Background(), t, m, 7*time.Second); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for seg := uint64(1); seg <= 3; seg++ {
		res, err := m.Resource(context.Background(), m.segmentName(seg))
		if err != nil {
			t.Fatal(err)
		}
		var parts fmp4.Parts
		if err := parts.Unmarshal(bytes.Join(res.Chunks, nil)); err != nil {
			t.Fatal(err)
		}
		for i, p := range parts {
			var videoEnd, audioEnd time.Duration
			for _, tr := range p.Tracks {
				end := tr.BaseTime
				for _, s := range tr.Samples {
					end += uint64(s.Duration)
				}
				switch tr.ID {
				case videoTrackID:
					videoEnd = time.Duration(end) * time.Second / videoTimeScale
				case audioTrackID:
					audioEnd = time.Duration(end) * time.Second / AudioSampleRate
				}
			}
			if audioEnd < videoEnd {
				t.Errorf("segment %d part %d: audio ends at %v, before its video (%v)", seg, i, audioEnd, videoEnd)
			}
			if audioEnd > videoEnd+2*aacFrameSamples*time.Second/AudioSampleRate {
				t.Errorf("segment %d part %d: audio ends at %v, far past its video (%v)", seg, i, audioEnd, videoEnd)
			}
			checked++
		}
	}
	if checked < 25 {
		t.Fatalf("checked %d parts, want the 30 of three segments", checked)
	}
}
