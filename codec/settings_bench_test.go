package codec_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/h264"
	"github.com/tessera-mcu/tessera/codec/vp8"
)

// BenchmarkCompositeEncoders compares the composite's encoder settings on
// real composites: raw 1280x720 I420 clips named by
// TESSERA_COMPOSITE_CLIPS (a glob; scripts/encoderbench.sh makes them
// with ffmpeg from the same sources as scripts/videoload.sh). For each
// setting it reports encode time per frame, the bitrate reached and the
// PSNR of the decoded pictures against the originals (of their mean
// squared error, all planes).
func BenchmarkCompositeEncoders(b *testing.B) {
	glob := os.Getenv("TESSERA_COMPOSITE_CLIPS")
	if glob == "" {
		b.Skip("TESSERA_COMPOSITE_CLIPS not set (scripts/encoderbench.sh sets it)")
	}
	paths, err := filepath.Glob(glob)
	if err != nil || len(paths) == 0 {
		b.Fatalf("no clips match %q (%v)", glob, err)
	}
	const w, h, fps, bitrate = 1280, 720, 30, 1_500_000
	type setting struct {
		name string
		new  func() (codec.VideoEncoder, codec.VideoDecoder, error)
	}
	settings := []setting{
		{"h264-ultrafast", func() (codec.VideoEncoder, codec.VideoDecoder, error) {
			return pair(h264.NewEncoder(h264.EncoderConfig{Width: w, Height: h, FPS: fps, Bitrate: bitrate}))(h264.NewDecoder(nil))
		}},
		{"h264-ultrafast-sliced1100", func() (codec.VideoEncoder, codec.VideoDecoder, error) {
			return pair(h264.NewEncoder(h264.EncoderConfig{Width: w, Height: h, FPS: fps, Bitrate: bitrate, MaxSliceBytes: 1100}))(h264.NewDecoder(nil))
		}},
	}
	for _, cpu := range []int{-6, -8, -10, -12, -16} {
		settings = append(settings, setting{fmt.Sprintf("vp8-cpu%d", cpu), func() (codec.VideoEncoder, codec.VideoDecoder, error) {
			return pair(vp8.NewEncoder(vp8.EncoderConfig{Width: w, Height: h, FPS: fps, Bitrate: bitrate, CPUUsed: cpu}))(vp8.NewDecoder(nil))
		}})
	}
	for _, path := range paths {
		frames := readClip(b, path, w, h)
		for _, s := range settings {
			b.Run(filepath.Base(path)+"/"+s.name, func(b *testing.B) {
				enc, dec, err := s.new()
				if err != nil {
					b.Fatal(err)
				}
				defer enc.Close()
				defer dec.Close()
				// Quality and bitrate over one pass of the clip, untimed.
				var mse float64 // summed over the pictures: PSNR of the mean error, as ffmpeg's psnr filter reports it
				var bytes, n int
				for _, f := range frames {
					pkt, err := enc.Encode(f)
					if err != nil {
						b.Fatal(err)
					}
					bytes += len(pkt.Data)
					pic, err := dec.Decode(pkt.Data)
					if err != nil || pic == nil {
						b.Fatalf("decode: %v", err)
					}
					if p := codectest.PSNR(f, pic); !math.IsInf(p, 1) {
						mse += 255 * 255 / math.Pow(10, p/10)
					}
					n++
					pic.Release()
				}
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					if _, err := enc.Encode(frames[i%len(frames)]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/frame")
				b.ReportMetric(float64(bytes)*8*fps/float64(len(frames))/1000, "kbps")
				b.ReportMetric(10*math.Log10(255*255/(mse/float64(max(n, 1)))), "dB")
			})
		}
	}
}

// pair returns a constructor's encoder with a decoder, or the first error.
func pair[E codec.VideoEncoder](enc E, err error) func(codec.VideoDecoder, error) (codec.VideoEncoder, codec.VideoDecoder, error) {
	return func(dec codec.VideoDecoder, derr error) (codec.VideoEncoder, codec.VideoDecoder, error) {
		if err != nil {
			return nil, nil, err
		}
		return enc, dec, derr
	}
}

// readClip loads a raw I420 clip of w x h pictures.
func readClip(b *testing.B, path string, w, h int) []*codec.Frame {
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	size := codec.I420Size(w, h)
	var frames []*codec.Frame
	for off := 0; off+size <= len(raw); off += size {
		f := codec.NewFrame(w, h)
		copy(f.Bytes(), raw[off:off+size])
		frames = append(frames, f)
	}
	if len(frames) == 0 {
		b.Fatalf("%s: no %dx%d pictures", path, w, h)
	}
	return frames
}
