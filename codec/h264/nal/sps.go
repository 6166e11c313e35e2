package nal

// SE reads a signed Exp-Golomb code (H.264 section 9.1.1).
func (r *BitReader) SE() (int, bool) {
	k, ok := r.UE()
	if !ok {
		return 0, false
	}
	if k&1 == 1 {
		return (k + 1) / 2, true
	}
	return -k / 2, true
}

// highProfiles are the profile_idc values whose sequence parameter set
// carries chroma format, bit depths and scaling matrices (H.264 section
// 7.3.2.1.1).
func highProfile(idc int) bool {
	switch idc {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		return true
	}
	return false
}

// SPSSize reads the picture size, in pixels, from a sequence parameter
// set NAL unit (header byte included, emulation prevention not yet
// removed): the coded macroblocks less the frame cropping (a 320x180
// stream codes 320x192 and crops 12 rows). ok is false for a unit that
// is no SPS or is cut short.
func SPSSize(unit []byte) (width, height int, ok bool) {
	if Type(unit) != SPS || len(unit) < 4 {
		return 0, 0, false
	}
	r := NewBitReader(Unescape(unit[1:]))
	profile, _ := r.Bits(8)
	r.Bits(16)                // constraint flags, level_idc
	if _, ok := r.UE(); !ok { // seq_parameter_set_id
		return 0, 0, false
	}
	chroma := 1 // 4:2:0 unless a high profile says otherwise
	if highProfile(profile) {
		var ok bool
		if chroma, ok = r.UE(); !ok {
			return 0, 0, false
		}
		if chroma == 3 {
			r.Bit() // separate_colour_plane_flag
		}
		r.UE()  // bit_depth_luma_minus8
		r.UE()  // bit_depth_chroma_minus8
		r.Bit() // qpprime_y_zero_transform_bypass_flag
		if present, ok := r.Bit(); !ok {
			return 0, 0, false
		} else if present == 1 {
			lists := 8
			if chroma == 3 {
				lists = 12
			}
			for i := range lists {
				size := 64
				if i < 6 {
					size = 16
				}
				if set, _ := r.Bit(); set == 1 && !skipScalingList(r, size) {
					return 0, 0, false
				}
			}
		}
	}
	r.UE() // log2_max_frame_num_minus4
	pocType, ok := r.UE()
	if !ok {
		return 0, 0, false
	}
	switch pocType {
	case 0:
		r.UE() // log2_max_pic_order_cnt_lsb_minus4
	case 1:
		r.Bit() // delta_pic_order_always_zero_flag
		r.SE()  // offset_for_non_ref_pic
		r.SE()  // offset_for_top_to_bottom_field
		n, ok := r.UE()
		if !ok || n > 255 {
			return 0, 0, false
		}
		for range n {
			r.SE()
		}
	}
	r.UE()  // max_num_ref_frames
	r.Bit() // gaps_in_frame_num_value_allowed_flag
	wmbs, ok1 := r.UE()
	hmaps, ok2 := r.UE()
	frameOnly, ok3 := r.Bit()
	if !ok1 || !ok2 || !ok3 {
		return 0, 0, false
	}
	width, height = (wmbs+1)*16, (2-frameOnly)*(hmaps+1)*16
	if frameOnly == 0 {
		r.Bit() // mb_adaptive_frame_field_flag
	}
	r.Bit() // direct_8x8_inference_flag
	crop, ok := r.Bit()
	if !ok || crop == 0 {
		return width, height, true
	}
	var edges [4]int // left, right, top, bottom, in crop units
	for i := range edges {
		if edges[i], ok = r.UE(); !ok {
			return width, height, true // cut short: the coded size
		}
	}
	unitX, unitY := 1, 2-frameOnly // monochrome and 4:4:4
	switch chroma {
	case 1: // 4:2:0
		unitX, unitY = 2, 2*(2-frameOnly)
	case 2: // 4:2:2
		unitX = 2
	}
	cw, ch := width-unitX*(edges[0]+edges[1]), height-unitY*(edges[2]+edges[3])
	if cw < 1 || ch < 1 {
		return width, height, true // nonsense cropping: the coded size
	}
	return cw, ch, true
}

// skipScalingList reads past a scaling list of size entries (H.264
// section 7.3.2.1.1.1).
func skipScalingList(r *BitReader, size int) bool {
	last, next := 8, 8
	for range size {
		if next != 0 {
			delta, ok := r.SE()
			if !ok {
				return false
			}
			next = (last + delta + 256) % 256
		}
		if next != 0 {
			last = next
		}
	}
	return true
}

// PictureSize finds the first sequence parameter set in an Annex-B buffer
// and returns its picture size (see SPSSize); ok is false when there is
// none.
func PictureSize(b []byte) (width, height int, ok bool) {
	it := NewIter(b)
	for u, more := it.Next(); more; u, more = it.Next() {
		if Type(u) == SPS {
			return SPSSize(u)
		}
	}
	return 0, 0, false
}
