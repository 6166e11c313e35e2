package nal

import "testing"

// Picture sizes from sequence parameter sets of the Baseline and High
// profiles, with and without scaling matrices (whose lists must be read
// past to reach the size).
func TestSPSSize(t *testing.T) {
	for _, tc := range []struct {
		name string
		sps  []byte
		w, h int
	}{
		// Built with the bit writer below rather than copied from a file,
		// so each field is visible.
		{"baseline 640x368", buildSPS(66, 40, 23, false), 640, 368},
		{"baseline 1280x720", buildSPS(66, 80, 45, false), 1280, 720},
		{"high 1920x1088", buildSPS(100, 120, 68, false), 1920, 1088},
		{"high 4096x2304 with scaling lists", buildSPS(100, 256, 144, true), 4096, 2304},
		// Coded in whole macroblocks, shown cropped.
		{"baseline 320x180 (320x192 cropped)", buildSPS(66, 20, 12, false, 0, 0, 0, 6), 320, 180},
		{"high 1920x1080 (1920x1088 cropped)", buildSPS(100, 120, 68, false, 0, 0, 0, 4), 1920, 1080},
		{"baseline 636x356 cropped on every edge", buildSPS(66, 40, 23, false, 1, 1, 3, 3), 636, 356},
	} {
		w, h, ok := SPSSize(tc.sps)
		if !ok || w != tc.w || h != tc.h {
			t.Errorf("%s: %dx%d ok=%v, want %dx%d", tc.name, w, h, ok, tc.w, tc.h)
		}
		if w2, h2, ok := PictureSize(append([]byte{0, 0, 0, 1}, tc.sps...)); !ok || w2 != w || h2 != h {
			t.Errorf("%s: PictureSize %dx%d ok=%v", tc.name, w2, h2, ok)
		}
	}
	for _, bad := range [][]byte{nil, {0x67}, {0x67, 66, 0, 30}, {0x68, 1, 2, 3, 4}} {
		if _, _, ok := SPSSize(bad); ok {
			t.Errorf("SPSSize(%x) ok", bad)
		}
	}
}

// bitWriter writes bits and Exp-Golomb codes.
type bitWriter struct {
	b []byte
	n int
}

func (w *bitWriter) bit(v int) {
	if w.n%8 == 0 {
		w.b = append(w.b, 0)
	}
	if v != 0 {
		w.b[len(w.b)-1] |= 0x80 >> (w.n % 8)
	}
	w.n++
}

func (w *bitWriter) bits(v, n int) {
	for i := n - 1; i >= 0; i-- {
		w.bit(v >> i & 1)
	}
}

func (w *bitWriter) ue(v int) {
	v++
	n := 0
	for x := v; x > 1; x >>= 1 {
		n++
	}
	w.bits(0, n)
	w.bits(v, n+1)
}

func (w *bitWriter) se(v int) {
	if v > 0 {
		w.ue(2*v - 1)
	} else {
		w.ue(-2 * v)
	}
}

// buildSPS writes an SPS of a profile with the given size in macroblocks
// (frame_mbs_only), picture order count type 0.
func buildSPS(profile, wmbs, hmbs int, scaling bool, crop ...int) []byte {
	w := &bitWriter{}
	w.bits(0x67, 8)
	w.bits(profile, 8)
	w.bits(0, 8)  // constraint flags
	w.bits(40, 8) // level 4.0
	w.ue(0)       // sps id
	if highProfile(profile) {
		w.ue(1) // 4:2:0
		w.ue(0)
		w.ue(0)
		w.bit(0)
		if scaling {
			w.bit(1)
			for i := range 8 {
				w.bit(1)
				size := 64
				if i < 6 {
					size = 16
				}
				for range size {
					w.se(1)
				}
			}
		} else {
			w.bit(0)
		}
	}
	w.ue(0) // log2_max_frame_num_minus4
	w.ue(0) // poc type 0
	w.ue(2) // log2_max_poc_lsb_minus4
	w.ue(1) // max_num_ref_frames
	w.bit(0)
	w.ue(wmbs - 1)
	w.ue(hmbs - 1)
	w.bit(1)            // frame_mbs_only
	w.bit(1)            // direct_8x8_inference
	if len(crop) == 4 { // left, right, top, bottom in 2-pixel units (4:2:0)
		w.bit(1)
		for _, c := range crop {
			w.ue(c)
		}
	} else {
		w.bit(0) // no cropping
	}
	w.bit(0) // no VUI
	w.bit(1) // stop bit
	return w.b
}
