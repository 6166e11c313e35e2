package record

import (
	"math"
	"path/filepath"
	"testing"
	"time"
)

type formatCase struct {
	name   string
	opts   Options
	video  string // codec of the content, "" for none
	audio  bool
	vcodec string // what ffprobe calls them
	ext    string
}

func formatCases() []formatCase {
	audio := &AudioTrack{SampleRate: 48000, Channels: 1}
	return []formatCase{
		{"webm-vp8-opus", Options{Format: WebM, Video: &VideoTrack{Codec: "vp8", Width: testW, Height: testH}, Audio: audio}, "vp8", true, "vp8", ".webm"},
		{"mkv-h264-opus", Options{Format: Matroska, Video: &VideoTrack{Codec: "h264", Width: testW, Height: testH}, Audio: audio}, "h264", true, "h264", ".mkv"},
		{"ogg-opus", Options{Format: OggOpus, Audio: audio}, "", true, "", ".opus"},
		{"webm-opus", Options{Format: WebM, Audio: audio}, "", true, "", ".webm"},
		{"webm-vp8", Options{Format: WebM, Video: &VideoTrack{Codec: "vp8", Width: testW, Height: testH}}, "vp8", false, "vp8", ".webm"},
		{"mkv-vp8-opus", Options{Format: Matroska, Video: &VideoTrack{Codec: "vp8", Width: testW, Height: testH}, Audio: audio}, "vp8", true, "vp8", ".mkv"},
	}
}

func (c formatCase) content(t *testing.T) []sample {
	var v, a []sample
	if c.video != "" {
		v = encoded(t, c.video)
	}
	if c.audio {
		a = encoded(t, "opus")
	}
	return interleave(v, a)
}

// TestFormatsPlay records 15 s of every format and checks what ffprobe
// reports and that ffmpeg decodes it without a complaint.
func TestFormatsPlay(t *testing.T) {
	needTools(t)
	for _, c := range formatCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			content := c.content(t)
			path := filepath.Join(t.TempDir(), "meeting"+c.opts.Format.Extension())
			if c.opts.Format.Extension() != c.ext {
				t.Fatalf("extension %q, want %q", c.opts.Format.Extension(), c.ext)
			}
			w, err := Create(path, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			writeAll(t, w, content)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			st := w.Stats()
			if st.DroppedVideo != 0 || st.DroppedAudio != 0 || st.Clamped != 0 || st.Silence != 0 {
				t.Errorf("stats %+v: nothing should be dropped, clamped or filled", st)
			}
			if math.Abs(st.Duration.Seconds()-testSeconds) > 0.1 {
				t.Errorf("Stats.Duration %v, want %ds", st.Duration, testSeconds)
			}

			r := ffprobe(t, path, "-show_entries", "stream=index,codec_name,codec_type,width,height:format=duration")
			t.Logf("ffprobe: %+v duration %s", r.Streams, r.Format.Duration)
			want := 0
			if c.video != "" {
				want++
				v := r.stream("video")
				if v == nil {
					t.Fatalf("no video stream: %+v", r.Streams)
				}
				if v.Index != 0 || v.CodecName != c.vcodec || v.Width != testW || v.Height != testH {
					t.Errorf("video stream %+v, want #0 %s %dx%d", *v, c.vcodec, testW, testH)
				}
			}
			if c.audio {
				want++
				a := r.stream("audio")
				if a == nil {
					t.Fatalf("no audio stream: %+v", r.Streams)
				}
				if a.CodecName != "opus" {
					t.Errorf("audio stream %+v, want opus", *a)
				}
			}
			if len(r.Streams) != want {
				t.Errorf("%d streams, want %d: %+v", len(r.Streams), want, r.Streams)
			}
			if d := r.duration(t); math.Abs(d-testSeconds) > 0.5 {
				t.Errorf("duration %.3f s, want %d s ± 0.5", d, testSeconds)
			}
			if out := ffmpegDecode(t, path); out != "" {
				t.Errorf("ffmpeg decode errors:\n%s", out)
			}
		})
	}
}

// TestStartsOnKeyframe feeds a GOP's delta frames (and audio) before the
// first keyframe: the file must start with the keyframe, at time 0, with
// the audio from then on.
func TestStartsOnKeyframe(t *testing.T) {
	needTools(t)
	for _, codecName := range []string{"vp8", "h264"} {
		t.Run(codecName, func(t *testing.T) {
			t.Parallel()
			video := encoded(t, codecName)
			audio := encoded(t, "opus")
			// Frames 1..29 are deltas of the lost keyframe 0; frame 30 is
			// the first keyframe the recorder sees, at 2 s.
			if !video[testKeyEvery].key || video[1].key {
				t.Fatalf("content: frame %d must be the first keyframe after 0", testKeyEvery)
			}
			start := video[testKeyEvery].pts
			content := interleave(video[1:], audio)
			opts := Options{
				Video: &VideoTrack{Codec: codecName, Width: testW, Height: testH},
				Audio: &AudioTrack{},
			}
			path := filepath.Join(t.TempDir(), "late"+FormatFor(codecName, false).Extension())
			w, err := Create(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			writeAll(t, w, content)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			st := w.Stats()
			if st.DroppedVideo != testKeyEvery-1 {
				t.Errorf("DroppedVideo %d, want %d", st.DroppedVideo, testKeyEvery-1)
			}
			wantAudioDropped := uint64(start / testPacketDur)
			if st.DroppedAudio != wantAudioDropped {
				t.Errorf("DroppedAudio %d, want %d", st.DroppedAudio, wantAudioDropped)
			}

			r := ffprobe(t, path, "-show_entries", "packet=stream_index,pts_time,flags:format=duration")
			var firstV, firstA *probePacket
			var nA int
			for i := range r.Packets {
				p := &r.Packets[i]
				if p.StreamIndex == 0 && firstV == nil {
					firstV = p
				}
				if p.StreamIndex == 1 {
					nA++
					if firstA == nil {
						firstA = p
					}
				}
			}
			if firstV == nil || firstA == nil {
				t.Fatalf("packets: video %v audio %v", firstV, firstA)
			}
			if firstV.Flags[0] != 'K' || parseFloat(t, firstV.PtsTime) != 0 {
				t.Errorf("first video packet %+v, want a keyframe at 0", *firstV)
			}
			// Opus packets show CodecDelay (6.5 ms) earlier than written.
			if a := parseFloat(t, firstA.PtsTime); a < -0.008 || a > 0 {
				t.Errorf("first audio packet at %.3f s, want about -0.0065", a)
			}
			if want := len(audio) - int(wantAudioDropped); nA != want {
				t.Errorf("%d audio packets, want %d", nA, want)
			}
			want := (testSeconds*time.Second - start).Seconds()
			if d := r.duration(t); math.Abs(d-want) > 0.5 {
				t.Errorf("duration %.3f, want %.3f", d, want)
			}
			if out := ffmpegDecode(t, path); out != "" {
				t.Errorf("ffmpeg decode errors:\n%s", out)
			}
		})
	}
}

// TestTimestamps checks that every packet's pts survives the trip through
// the file to ffprobe within 1 ms, audio in order, video first at 0.
func TestTimestamps(t *testing.T) {
	needTools(t)
	for _, c := range formatCases()[:2] {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			content := c.content(t)
			path := filepath.Join(t.TempDir(), "ts"+c.ext)
			w, err := Create(path, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			writeAll(t, w, content)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			var wantV, wantA []time.Duration
			for _, s := range content {
				if s.video {
					wantV = append(wantV, s.pts)
				} else {
					wantA = append(wantA, s.pts)
				}
			}
			r := ffprobe(t, path, "-show_entries", "packet=stream_index,pts_time,flags")
			var gotV, gotA []float64
			for _, p := range r.Packets {
				if p.StreamIndex == 0 {
					gotV = append(gotV, parseFloat(t, p.PtsTime))
				} else {
					gotA = append(gotA, parseFloat(t, p.PtsTime))
				}
			}
			if len(gotV) != len(wantV) || len(gotA) != len(wantA) {
				t.Fatalf("packets: video %d audio %d, want %d and %d", len(gotV), len(gotA), len(wantV), len(wantA))
			}
			if gotV[0] != 0 {
				t.Errorf("first video pts %.3f, want 0", gotV[0])
			}
			const codecDelay = 0.0065
			for i := range wantV {
				if d := gotV[i] - wantV[i].Seconds(); math.Abs(d) > 0.001 {
					t.Fatalf("video packet %d at %.4f s, written at %v", i, gotV[i], wantV[i])
				}
			}
			for i := range wantA {
				if d := gotA[i] + codecDelay - wantA[i].Seconds(); math.Abs(d) > 0.001 {
					t.Fatalf("audio packet %d at %.4f s, written at %v (minus 6.5 ms codec delay)", i, gotA[i], wantA[i])
				}
				if i > 0 && gotA[i] <= gotA[i-1] {
					t.Fatalf("audio pts not increasing at %d: %.4f after %.4f", i, gotA[i], gotA[i-1])
				}
			}
		})
	}
}
