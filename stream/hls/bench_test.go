package hls

import (
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/h264"
)

// replayAAC is an AudioEncoder that costs nothing: it hands out a fixed
// 64 kbit/s AAC payload for every 1024 samples it is given, so a benchmark
// measures the muxer alone.
type replayAAC struct {
	payload []byte
	samples int // taken so far
	emitted int // frames handed out
	first   time.Duration
	out     []AACFrame
}

func (a *replayAAC) Encode(pcm []int16, pts time.Duration) ([]AACFrame, error) {
	if a.samples == 0 {
		a.first = pts
	}
	a.samples += len(pcm)
	a.out = a.out[:0]
	for (a.emitted+1)*aacFrameSamples <= a.samples {
		a.out = append(a.out, AACFrame{Data: a.payload, PTS: a.first + time.Duration(a.emitted)*aacFrameSamples*time.Second/AudioSampleRate})
		a.emitted++
	}
	return a.out, nil
}

func (a *replayAAC) Config() []byte { return monoAACConfig() }

// BenchmarkMuxer1s measures the CPU the muxer spends on one second of a
// room's stream: 30 H.264 access units of 1280x720 at about 2 Mbit/s
// (encoded beforehand, a keyframe every 2 s) and 50 blocks of 20 ms audio
// into AAC frames of 64 kbit/s (the AAC encode itself is not measured).
// One op is one second of stream, so ns/op over 1e9 is the share of a
// core one HLS room costs beyond its encoders.
//
//	go test -run '^$' -bench BenchmarkMuxer1s -benchtime 30x ./stream/hls/
func BenchmarkMuxer1s(b *testing.B) {
	const w, h, fps = 1280, 720, 30
	enc, err := h264.NewEncoder(h264.EncoderConfig{Width: w, Height: h, FPS: fps, Bitrate: 2_000_000, KeyframeInterval: 2 * fps})
	if err != nil {
		b.Fatal(err)
	}
	frame := codec.NewFrame(w, h)
	type au struct {
		data []byte
		key  bool
	}
	var aus []au
	bytes := 0
	// Two rounds of 2 s; the second, with rate control settled, is kept.
	for n := range 4 * fps {
		codectest.MovingPicture(frame, n)
		pkt, err := enc.Encode(frame)
		if err != nil {
			b.Fatal(err)
		}
		if n >= 2*fps {
			aus = append(aus, au{append([]byte(nil), pkt.Data...), pkt.Keyframe})
			bytes += len(pkt.Data)
		}
	}
	_ = enc.Close()
	if !aus[0].key {
		b.Fatal("the kept round does not start with a keyframe")
	}
	m, err := NewMuxer(Config{Audio: &replayAAC{payload: make([]byte, 64000/8*aacFrameSamples/AudioSampleRate)}})
	if err != nil {
		b.Fatal(err)
	}
	pcm := make([]int16, 960)
	var vn, an int
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for range fps {
			vpts := time.Duration(vn) * time.Second / fps
			for apts := time.Duration(an) * 20 * time.Millisecond; apts <= vpts; apts = time.Duration(an) * 20 * time.Millisecond {
				if err := m.WriteAudio(pcm, apts); err != nil {
					b.Fatal(err)
				}
				an++
			}
			a := aus[vn%len(aus)]
			if err := m.WriteVideo(a.data, a.key, vpts); err != nil {
				b.Fatal(err)
			}
			vn++
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(bytes*8)/float64(len(aus))*fps/1e6, "video-Mbit/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e7, "%core")
	if st := m.Stats(); st.VideoDropped != 0 || st.AudioDropped != 0 {
		b.Fatalf("dropped: %+v", st)
	}
}
