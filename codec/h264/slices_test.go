package h264

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
)

// sliceRun is what encoding and decoding one stream gave.
type sliceRun struct {
	bytes, slices, pictures int
	largest                 int // bytes of the largest NAL unit
	psnr                    float64
	encode                  time.Duration
}

// encodeSliced encodes and decodes frames pictures of draw with cfg.
func encodeSliced(t *testing.T, cfg EncoderConfig, frames int, draw func(*codec.Frame, int)) sliceRun {
	t.Helper()
	enc := newEncoder(t, cfg)
	dec := newDecoder(t, nil)
	src := codec.NewFrame(cfg.Width, cfg.Height)
	var r sliceRun
	for i := range frames {
		draw(src, i)
		start := time.Now()
		pkt, err := enc.Encode(src)
		r.encode += time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		r.bytes += len(pkt.Data)
		for _, n := range SplitNALUnits(pkt.Data) {
			r.largest = max(r.largest, len(n))
			if typ := n[0] & 0x1f; typ == nalIDR || typ == 1 {
				r.slices++
			}
		}
		pic, err := dec.Decode(pkt.Data)
		if err != nil || pic == nil {
			t.Fatalf("frame %d: decode: %v", i, err)
		}
		r.psnr += codectest.PSNR(src, pic)
		pic.Release()
		r.pictures++
	}
	r.psnr /= float64(frames)
	return r
}

// TestMaxSliceBytes: with MaxSliceBytes every NAL unit of a busy stream
// and of a clean one (IDRs included) stays within the limit, pictures
// come as several slices, and the stream decodes as well as the
// one-slice stream. The cost (bits, quality, encode time) is logged, not
// judged.
func TestMaxSliceBytes(t *testing.T) {
	noisy := noisyPicture{rng: rand.NewPCG(3, 4)}
	for _, tc := range []struct {
		name string
		draw func(*codec.Frame, int)
	}{{"noisy", noisy.draw}, {"clean", codectest.MovingPicture}} {
		t.Run(tc.name, func(t *testing.T) { testMaxSliceBytes(t, tc.draw) })
	}
}

func testMaxSliceBytes(t *testing.T, draw func(*codec.Frame, int)) {
	const w, h, fps, frames, limit = 640, 360, 30, 90, 1100
	cfg := EncoderConfig{Width: w, Height: h, FPS: fps, KeyframeInterval: 30}
	whole := encodeSliced(t, cfg, frames, draw)
	cfg.MaxSliceBytes = limit
	sliced := encodeSliced(t, cfg, frames, draw)
	t.Logf("one slice: %d kbps, %.2f dB, %d NALs, largest %d B, encode %v/picture",
		whole.bytes*8*fps/frames/1000, whole.psnr, whole.slices, whole.largest, whole.encode/frames)
	t.Logf("slices <= %d B: %d kbps, %.2f dB, %d NALs, largest %d B, encode %v/picture",
		limit, sliced.bytes*8*fps/frames/1000, sliced.psnr, sliced.slices, sliced.largest, sliced.encode/frames)
	if sliced.largest > limit {
		t.Errorf("largest NAL unit %d bytes > %d", sliced.largest, limit)
	}
	if whole.largest <= limit {
		t.Fatalf("the one-slice stream's NAL units are all <= %d bytes: the content proves nothing", limit)
	}
	if sliced.slices <= frames {
		t.Errorf("%d slices in %d pictures: not cut", sliced.slices, frames)
	}
	if sliced.psnr < whole.psnr-1.5 {
		t.Errorf("sliced PSNR %.2f dB, one slice %.2f dB", sliced.psnr, whole.psnr)
	}
}

func TestMaxSliceBytesTooSmall(t *testing.T) {
	if _, err := NewEncoder(EncoderConfig{Width: 320, Height: 180, FPS: 30, MaxSliceBytes: 50}); err == nil {
		t.Fatal("MaxSliceBytes 50 accepted")
	}
}
