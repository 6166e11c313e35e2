package h264

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tessera-mcu/tessera/codec"
)

// FuzzDecode feeds arbitrary bytes to a fresh decoder, whole and cut into
// access units. The decoder must not crash or hang, must report failures
// as codec.ErrCorrupt, and any picture it returns must have a sane size.
// The seed corpus (testdata/fuzz/FuzzDecode) holds small real access units;
// TestWriteFuzzCorpus regenerates it.
func FuzzDecode(f *testing.F) {
	pool := codec.NewFramePool(2)
	f.Fuzz(func(t *testing.T, data []byte) {
		dec, err := NewDecoder(pool)
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		check := func(au []byte) {
			pic, err := dec.Decode(au)
			if err != nil {
				if pic != nil {
					t.Fatalf("picture together with error %v", err)
				}
				if len(au) > 0 && !errorsIsCorrupt(err) {
					t.Fatalf("error %v does not wrap ErrCorrupt", err)
				}
				return
			}
			if pic == nil {
				return
			}
			if pic.Width <= 0 || pic.Height <= 0 || pic.Width*pic.Height > MaxDecodePixels ||
				len(pic.Bytes()) != codec.I420Size(pic.Width, pic.Height) {
				t.Fatalf("picture %dx%d with %d bytes", pic.Width, pic.Height, len(pic.Bytes()))
			}
			pic.Release()
		}
		check(data)
		aus := SplitAccessUnits(data)
		for _, au := range aus {
			if len(au) == 0 || !bytes.Contains(data, au) {
				t.Fatalf("SplitAccessUnits returned a unit that is not part of the input")
			}
			check(au)
		}
		for _, nal := range SplitNALUnits(data) {
			if len(nal) == 0 {
				t.Fatal("SplitNALUnits returned an empty unit")
			}
		}
	})
}

// TestWriteFuzzCorpus rewrites the seed corpus when H264_WRITE_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("H264_WRITE_CORPUS") != "1" {
		t.Skip("set H264_WRITE_CORPUS=1 to regenerate testdata/fuzz/FuzzDecode")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	aus := encodeStream(t, EncoderConfig{Width: 64, Height: 48, FPS: 30}, 4)
	idr, p := aus[0], aus[1]
	nals := SplitNALUnits(idr)
	sliced, err := os.ReadFile(filepath.Join("testdata", "openh264", "sliced_320x180.h264"))
	if err != nil {
		t.Fatal(err)
	}
	ohIDR := SplitAccessUnits(sliced)[0]
	// The SPS, the PPS and the first two slices of OpenH264's IDR.
	var ohPart []byte
	scanNALs(ohIDR, func(s nalSpan) {
		if len(ohPart) == 0 || len(SplitNALUnits(ohPart)) < 4 {
			ohPart = append(ohPart, ohIDR[s.start:s.end]...)
		}
	})
	seeds := map[string][]byte{
		"x264_idr_64x48":       idr,
		"x264_p_64x48":         p,
		"x264_stream_64x48":    bytes.Join(aus, nil),
		"x264_idr_truncated":   idr[:len(idr)/2],
		"x264_sps_pps":         append(append([]byte{0, 0, 0, 1}, nals[0]...), append([]byte{0, 0, 0, 1}, nals[1]...)...),
		"x264_p_without_idr":   bytes.Join(aus[1:], nil),
		"openh264_idr_partial": ohPart,
	}
	total := 0
	for name, data := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		total += len(body)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d seeds, %d bytes", len(seeds), total)
}
