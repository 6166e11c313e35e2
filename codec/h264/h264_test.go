package h264

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/tessera-mcu/tessera/codec/h264/nal"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
)

func newEncoder(t testing.TB, cfg EncoderConfig) *Encoder {
	t.Helper()
	enc, err := NewEncoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	return enc
}

func newDecoder(t testing.TB, pool *codec.FramePool) *Decoder {
	t.Helper()
	dec, err := NewDecoder(pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dec.Close() })
	return dec
}

// encodeStream encodes n pictures of codectest.MovingPicture and returns a
// copy of every access unit.
func encodeStream(t testing.TB, cfg EncoderConfig, n int) [][]byte {
	t.Helper()
	enc := newEncoder(t, cfg)
	f := codec.NewFrame(cfg.Width, cfg.Height)
	out := make([][]byte, 0, n)
	for i := range n {
		codectest.MovingPicture(f, i)
		pkt, err := enc.Encode(f)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		out = append(out, bytes.Clone(pkt.Data))
	}
	return out
}

func nalTypes(au []byte) []int {
	var types []int
	for _, n := range SplitNALUnits(au) {
		types = append(types, int(n[0]&0x1f))
	}
	return types
}

func hasNAL(au []byte, typ int) bool {
	for _, t := range nalTypes(au) {
		if t == typ {
			return true
		}
	}
	return false
}

func TestRoundTripPSNR(t *testing.T) {
	const w, h, frames = 640, 360, 90
	enc := newEncoder(t, EncoderConfig{Width: w, Height: h, FPS: 30})
	if got, want := enc.Config().Bitrate, DefaultBitrate(w, h); got != want {
		t.Fatalf("bitrate %d, want default %d", got, want)
	}
	dec := newDecoder(t, nil)
	src := codec.NewFrame(w, h)
	var sum, worst float64 = 0, 1000
	for i := range frames {
		codectest.MovingPicture(src, i)
		pkt, err := enc.Encode(src)
		if err != nil {
			t.Fatal(err)
		}
		if pkt.Keyframe != (i == 0) {
			t.Errorf("frame %d: Keyframe %v", i, pkt.Keyframe)
		}
		if pkt.Keyframe != ContainsIDR(pkt.Data) {
			t.Errorf("frame %d: Keyframe %v but ContainsIDR %v", i, pkt.Keyframe, !pkt.Keyframe)
		}
		pic, err := dec.Decode(pkt.Data)
		if err != nil {
			t.Fatalf("decode frame %d: %v", i, err)
		}
		if pic == nil {
			t.Fatalf("frame %d: no picture (low-delay decoding must not buffer)", i)
		}
		if pic.Width != w || pic.Height != h {
			t.Fatalf("frame %d: decoded %dx%d", i, pic.Width, pic.Height)
		}
		p := codectest.PSNR(src, pic)
		pic.Release()
		sum += p
		worst = min(worst, p)
	}
	avg := sum / frames
	t.Logf("640x360 @ %d bps: average PSNR %.2f dB, worst %.2f dB", DefaultBitrate(w, h), avg, worst)
	if avg < 32 {
		t.Errorf("average PSNR %.2f dB < 32 dB", avg)
	}
	if worst < 28 {
		t.Errorf("worst frame PSNR %.2f dB < 28 dB", worst)
	}
}

func TestForceKeyframe(t *testing.T) {
	const w, h = 320, 180
	enc := newEncoder(t, EncoderConfig{Width: w, Height: h, FPS: 30})
	f := codec.NewFrame(w, h)
	encode := func(i int) codec.VideoPacket {
		t.Helper()
		codectest.MovingPicture(f, i)
		pkt, err := enc.Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		return pkt
	}
	first := encode(0)
	if !first.Keyframe || !hasNAL(first.Data, nalSPS) || !hasNAL(first.Data, nalPPS) || !hasNAL(first.Data, nalIDR) {
		t.Fatalf("first access unit: Keyframe %v, NAL types %v", first.Keyframe, nalTypes(first.Data))
	}
	for i := 1; i < 8; i++ {
		pkt := encode(i)
		if pkt.Keyframe || !bytes.Equal(bytesOf(nalTypes(pkt.Data)), []byte{nalSlice}) {
			t.Fatalf("frame %d: Keyframe %v, NAL types %v; want one P slice", i, pkt.Keyframe, nalTypes(pkt.Data))
		}
	}
	enc.ForceKeyframe()
	enc.ForceKeyframe() // coalesces
	pkt := encode(8)
	if got := nalTypes(pkt.Data); !pkt.Keyframe || !bytes.Equal(bytesOf(got), []byte{nalSPS, nalPPS, nalIDR}) {
		t.Fatalf("forced frame: Keyframe %v, NAL types %v; want SPS, PPS, IDR", pkt.Keyframe, got)
	}
	pkt = encode(9)
	if got := nalTypes(pkt.Data); pkt.Keyframe || !bytes.Equal(bytesOf(got), []byte{nalSlice}) {
		t.Fatalf("frame after forced IDR: Keyframe %v, NAL types %v", pkt.Keyframe, got)
	}
}

func bytesOf(v []int) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

func TestKeyframeInterval(t *testing.T) {
	aus := encodeStream(t, EncoderConfig{Width: 160, Height: 96, FPS: 30, KeyframeInterval: 10}, 31)
	for i, au := range aus {
		if want := i%10 == 0; ContainsIDR(au) != want {
			t.Errorf("frame %d: IDR %v, want %v", i, !want, want)
		}
	}
}

// sps is the part of a sequence parameter set the tests check.
type sps struct {
	profile, constraints, level int
	widthMBs, heightMBs         int
	frameMBsOnly, direct8x8     int
}

// parseSPS reads a baseline SPS NAL unit (header byte included).
func parseSPS(unit []byte) (sps, error) {
	rbsp := nal.Unescape(unit[1:])
	if len(rbsp) < 4 {
		return sps{}, errors.New("short SPS")
	}
	s := sps{profile: int(rbsp[0]), constraints: int(rbsp[1]), level: int(rbsp[2])}
	if s.profile != profileBaseline {
		return s, fmt.Errorf("profile_idc %d", s.profile)
	}
	r := nal.NewBitReader(rbsp[3:])
	ue := func() int {
		v, ok := r.UE()
		if !ok {
			panic("SPS too short")
		}
		return v
	}
	bit := func() int {
		v, ok := r.Bit()
		if !ok {
			panic("SPS too short")
		}
		return v
	}
	ue() // seq_parameter_set_id
	ue() // log2_max_frame_num_minus4
	switch pocType := ue(); pocType {
	case 0:
		ue() // log2_max_pic_order_cnt_lsb_minus4
	case 1:
		return s, errors.New("pic_order_cnt_type 1 not handled")
	}
	ue()  // max_num_ref_frames
	bit() // gaps_in_frame_num_value_allowed_flag
	s.widthMBs = ue() + 1
	s.heightMBs = ue() + 1
	s.frameMBsOnly = bit()
	if s.frameMBsOnly == 0 {
		bit() // mb_adaptive_frame_field_flag
	}
	s.direct8x8 = bit()
	return s, nil
}

func TestSPSConstrainedBaseline(t *testing.T) {
	for _, tc := range []struct {
		w, h, fps int
		level     int
		plid      string
	}{
		{64, 48, 30, 31, "42e01f"},
		{640, 360, 30, 31, "42e01f"},
		{1280, 720, 30, 31, "42e01f"},
		{1280, 720, 60, 32, "42e020"},
		{1920, 1080, 30, 40, "42e028"},
	} {
		t.Run(fmt.Sprintf("%dx%d@%d", tc.w, tc.h, tc.fps), func(t *testing.T) {
			enc := newEncoder(t, EncoderConfig{Width: tc.w, Height: tc.h, FPS: tc.fps})
			if got := enc.ProfileLevelID(); got != tc.plid {
				t.Errorf("ProfileLevelID %q, want %q", got, tc.plid)
			}
			f := codec.NewFrame(tc.w, tc.h)
			codectest.MovingPicture(f, 0)
			pkt, err := enc.Encode(f)
			if err != nil {
				t.Fatal(err)
			}
			nals := SplitNALUnits(pkt.Data)
			if len(nals) == 0 || nals[0][0]&0x1f != nalSPS {
				t.Fatalf("access unit does not start with an SPS: %v", nalTypes(pkt.Data))
			}
			if !bytes.HasPrefix(pkt.Data, []byte{0, 0, 0, 1}) {
				t.Errorf("access unit starts % x, want a 4-byte start code", pkt.Data[:4])
			}
			s, err := parseSPS(nals[0])
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("SPS % x: %+v", nals[0][:4], s)
			if s.profile != 66 || s.constraints != 0xe0 || s.level != tc.level {
				t.Errorf("profile_idc %d, constraint flags %#x, level_idc %d; want 66, 0xe0, %d",
					s.profile, s.constraints, s.level, tc.level)
			}
			if fmt.Sprintf("%02x%02x%02x", s.profile, s.constraints, s.level) != tc.plid {
				t.Errorf("SPS bytes do not match profile-level-id %s", tc.plid)
			}
			// constraint_set2_flag claims Extended-profile conformance,
			// which needs these two.
			if s.frameMBsOnly != 1 || s.direct8x8 != 1 {
				t.Errorf("frame_mbs_only_flag %d, direct_8x8_inference_flag %d; want 1, 1", s.frameMBsOnly, s.direct8x8)
			}
			if s.widthMBs != (tc.w+15)/16 || s.heightMBs != (tc.h+15)/16 {
				t.Errorf("SPS size %dx%d MBs", s.widthMBs, s.heightMBs)
			}
			for _, n := range nals {
				if typ := n[0] & 0x1f; typ == nalSEI {
					t.Errorf("access unit carries an SEI")
				}
			}
		})
	}
}

// noisyPicture is MovingPicture plus luma and chroma noise, busy enough
// that rate control, not the content, decides the bitrate.
type noisyPicture struct{ rng *rand.PCG }

func (p *noisyPicture) draw(f *codec.Frame, n int) {
	codectest.MovingPicture(f, n)
	x := p.rng.Uint64()
	for i := 0; i < len(f.Y); i += 8 {
		x = p.rng.Uint64()
		for j := 0; j < 8 && i+j < len(f.Y); j++ {
			f.Y[i+j] = uint8(int(f.Y[i+j]) + int(x>>(8*j)&15) - 8)
		}
	}
	for i := range f.U {
		if i%8 == 0 {
			x = p.rng.Uint64()
		}
		f.U[i] += uint8(x>>(8*(i%8))) & 3
	}
}

func TestBitrateTracksTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes 30 s of video")
	}
	const w, h, fps = 640, 360, 30
	const window, settle = 10 * fps, fps
	enc := newEncoder(t, EncoderConfig{Width: w, Height: h, FPS: fps})
	f := codec.NewFrame(w, h)
	gen := noisyPicture{rng: rand.NewPCG(1, 2)}
	n := 0
	// measure encodes skip pictures, then reports the bitrate achieved over
	// the next window.
	measure := func(skip int) float64 {
		bits := 0
		for i := range skip + window {
			gen.draw(f, n)
			n++
			pkt, err := enc.Encode(f)
			if err != nil {
				t.Fatal(err)
			}
			if i >= skip {
				bits += 8 * len(pkt.Data)
			}
		}
		return float64(bits) * fps / window
	}
	check := func(what string, got float64, target int) {
		t.Helper()
		dev := got/float64(target) - 1
		t.Logf("%s: target %d bps, achieved %.0f bps (%+.1f%%)", what, target, got, 100*dev)
		if dev < -0.15 || dev > 0.15 {
			t.Errorf("%s: achieved %.0f bps, outside ±15%% of %d", what, got, target)
		}
	}
	base := enc.Config().Bitrate
	check("initial", measure(0), base)
	for _, target := range []int{base / 2, base * 2} {
		if err := enc.SetBitrate(target); err != nil {
			t.Fatal(err)
		}
		if got := enc.Config().Bitrate; got != target {
			t.Fatalf("Config().Bitrate %d after SetBitrate(%d)", got, target)
		}
		check(fmt.Sprintf("after SetBitrate(%d), first second excluded", target), measure(settle), target)
	}
}

func TestEncoderErrors(t *testing.T) {
	for _, cfg := range []EncoderConfig{
		{Width: 0, Height: 360, FPS: 30},
		{Width: 641, Height: 360, FPS: 30},
		{Width: 640, Height: 361, FPS: 30},
		{Width: 8192, Height: 360, FPS: 30},
		{Width: 640, Height: 360, FPS: 0},
		{Width: 640, Height: 360, FPS: 1000},
		{Width: 640, Height: 360, FPS: 30, Bitrate: 1000},
		{Width: 640, Height: 360, FPS: 30, Bitrate: 1 << 30},
		{Width: 640, Height: 360, FPS: 30, KeyframeInterval: -1},
		{Width: 4096, Height: 4096, FPS: 120}, // beyond level 5.1
	} {
		enc, err := NewEncoder(cfg)
		if !errors.Is(err, codec.ErrInvalidConfig) {
			t.Errorf("%+v: err %v, want ErrInvalidConfig", cfg, err)
		}
		if enc != nil {
			enc.Close()
		}
	}

	enc := newEncoder(t, EncoderConfig{Width: 320, Height: 180, FPS: 30})
	if _, err := enc.Encode(codec.NewFrame(320, 182)); !errors.Is(err, codec.ErrFrameSize) {
		t.Errorf("wrong size: err %v, want ErrFrameSize", err)
	}
	if _, err := enc.Encode(nil); !errors.Is(err, codec.ErrFrameSize) {
		t.Errorf("nil frame: err %v, want ErrFrameSize", err)
	}
	for _, bps := range []int{0, MinBitrate - 1, MaxBitrate + 1, 15_000_000 /* > level 3.1 */} {
		if err := enc.SetBitrate(bps); !errors.Is(err, codec.ErrInvalidConfig) {
			t.Errorf("SetBitrate(%d): err %v, want ErrInvalidConfig", bps, err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := enc.Encode(codec.NewFrame(320, 180)); !errors.Is(err, codec.ErrClosed) {
		t.Errorf("Encode after Close: %v", err)
	}
	if err := enc.SetBitrate(500_000); !errors.Is(err, codec.ErrClosed) {
		t.Errorf("SetBitrate after Close: %v", err)
	}
	enc.ForceKeyframe() // must not crash

	dec, err := NewDecoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	dec.Close()
	dec.Close()
	if _, err := dec.Decode([]byte{0, 0, 1, 0x65}); !errors.Is(err, codec.ErrClosed) {
		t.Errorf("Decode after Close: %v", err)
	}
}

// decodeLoose decodes au and accepts either a picture, nothing, or an
// ErrCorrupt; anything else fails the test.
func decodeLoose(t *testing.T, dec *Decoder, au []byte) (*codec.Frame, error) {
	t.Helper()
	pic, err := dec.Decode(au)
	if err != nil && !errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("error %v does not wrap ErrCorrupt", err)
	}
	if err != nil && pic != nil {
		t.Fatalf("picture returned together with error %v", err)
	}
	return pic, err
}

func TestDecoderDamagedInput(t *testing.T) {
	const w, h = 320, 180
	aus := encodeStream(t, EncoderConfig{Width: w, Height: h, FPS: 30}, 10)
	dec := newDecoder(t, nil)
	ref := codec.NewFrame(w, h)

	if _, err := dec.Decode(nil); !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("empty input: err %v, want ErrCorrupt", err)
	}

	// A truncated IDR must not come out as a picture.
	idr := aus[0]
	for _, cut := range []int{len(idr) / 2, len(idr) * 3 / 4, len(idr) - 40} {
		dec := newDecoder(t, nil)
		pic, err := decodeLoose(t, dec, idr[:cut])
		t.Logf("IDR cut to %d of %d bytes: picture %v, err %v", cut, len(idr), pic != nil, err)
		if pic != nil {
			t.Errorf("IDR cut to %d of %d bytes gave a picture", cut, len(idr))
			pic.Release()
		}
	}

	// Random bytes, with and without start codes, on a decoder that has
	// seen a good stream: never a picture, never a crash.
	rng := rand.New(rand.NewPCG(3, 4))
	errs, pics := 0, 0
	for i := range 200 {
		junk := make([]byte, 1+rng.IntN(3000))
		for j := range junk {
			junk[j] = byte(rng.Uint32())
		}
		if i%2 == 0 {
			for k := 0; k < 4; k++ {
				at := rng.IntN(len(junk))
				copy(junk[at:], []byte{0, 0, 1, byte(0x60 | []int{1, 5, 7, 8}[k])})
			}
		}
		if i == 0 {
			for _, au := range aus[:3] {
				if pic, err := dec.Decode(au); err != nil || pic == nil {
					t.Fatalf("good stream: %v", err)
				} else {
					pic.Release()
				}
			}
		}
		pic, err := decodeLoose(t, dec, junk)
		switch {
		case err != nil:
			errs++
		case pic != nil:
			// Random bytes behind a random SPS now and then make a
			// syntactically valid tiny picture; its size must be sane.
			pics++
			if pic.Width <= 0 || pic.Height <= 0 || pic.Width*pic.Height > MaxDecodePixels {
				t.Fatalf("junk gave a %dx%d picture", pic.Width, pic.Height)
			}
			pic.Release()
		}
	}
	t.Logf("200 junk inputs: %d errors, %d pictures; reorder delay %d", errs, pics, dec.reorderDelay())

	// The next good IDR recovers, with no picture held back (junk can make
	// libavcodec raise its reorder delay), and the P frames after it
	// decode.
	for i, au := range aus {
		pic, err := dec.Decode(au)
		if err != nil || pic == nil {
			t.Fatalf("frame %d after junk: picture %v, err %v", i, pic != nil, err)
		}
		if d := dec.reorderDelay(); d != 0 {
			t.Fatalf("frame %d after junk: decoder delays output by %d pictures", i, d)
		}
		codectest.MovingPicture(ref, i)
		if p := codectest.PSNR(ref, pic); p < 30 {
			t.Errorf("frame %d after junk: PSNR %.1f dB", i, p)
		}
		pic.Release()
	}
}

// TestDecoderLostFrame drops a whole P picture. libavcodec conceals the
// frame_num gap silently (the pictures that follow refer to an older
// reference and come out smeared, with no error), so detecting the loss is
// up to the RTP layer, which sees the sequence-number gap and asks for an
// IDR. What the decoder must do is keep going and be clean again from that
// IDR on.
func TestDecoderLostFrame(t *testing.T) {
	const w, h = 320, 180
	aus := encodeStream(t, EncoderConfig{Width: w, Height: h, FPS: 30, KeyframeInterval: 6}, 10)
	dec := newDecoder(t, nil)
	ref := codec.NewFrame(w, h)
	for i, au := range aus {
		if i == 2 {
			continue // lost
		}
		pic, err := decodeLoose(t, dec, au)
		if i >= 6 {
			if pic == nil {
				t.Fatalf("frame %d (from the IDR on): no picture, err %v", i, err)
			}
			codectest.MovingPicture(ref, i)
			if p := codectest.PSNR(ref, pic); p < 30 {
				t.Errorf("frame %d: PSNR %.1f dB", i, p)
			}
		}
		if pic != nil {
			pic.Release()
		}
	}
}

func TestDecoderSizeChange(t *testing.T) {
	dec := newDecoder(t, codec.NewFramePool(2))
	for _, size := range [][2]int{{320, 180}, {640, 360}, {176, 144}, {320, 180}} {
		w, h := size[0], size[1]
		ref := codec.NewFrame(w, h)
		for i, au := range encodeStream(t, EncoderConfig{Width: w, Height: h, FPS: 30}, 3) {
			pic, err := dec.Decode(au)
			if err != nil || pic == nil {
				t.Fatalf("%dx%d frame %d: picture %v, err %v", w, h, i, pic != nil, err)
			}
			if pic.Width != w || pic.Height != h {
				t.Fatalf("%dx%d frame %d: decoded %dx%d", w, h, i, pic.Width, pic.Height)
			}
			codectest.MovingPicture(ref, i)
			if p := codectest.PSNR(ref, pic); p < 30 {
				t.Errorf("%dx%d frame %d: PSNR %.1f dB", w, h, i, p)
			}
			pic.Release()
		}
	}
}

// TestDecodeOpenH264 decodes streams from OpenH264, the encoder Chromium
// uses, set up as WebRTC sets it up (see testdata/openh264/README.md).
func TestDecodeOpenH264(t *testing.T) {
	for _, tc := range []struct {
		file     string
		pictures int
		idrs     int
	}{
		{"camera_320x180.h264", 27, 2},
		{"sliced_320x180.h264", 10, 1},
	} {
		t.Run(tc.file, func(t *testing.T) {
			stream, err := os.ReadFile(filepath.Join("testdata", "openh264", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			aus := SplitAccessUnits(stream)
			if len(aus) != tc.pictures {
				t.Fatalf("%d access units, want %d", len(aus), tc.pictures)
			}
			dec := newDecoder(t, nil)
			idrs, slices := 0, 0
			var prev *codec.Frame
			for i, au := range aus {
				if ContainsIDR(au) {
					idrs++
				}
				for _, typ := range nalTypes(au) {
					if typ == nalSlice || typ == nalIDR {
						slices++
					}
				}
				pic, err := dec.Decode(au)
				if err != nil || pic == nil {
					t.Fatalf("access unit %d (NAL types %v): picture %v, err %v", i, nalTypes(au), pic != nil, err)
				}
				if pic.Width != 320 || pic.Height != 180 {
					t.Fatalf("access unit %d: %dx%d", i, pic.Width, pic.Height)
				}
				// testsrc2 moves: consecutive pictures differ, but not
				// wildly.
				if prev != nil {
					if p := codectest.PSNR(prev, pic); p > 60 || p < 10 {
						t.Errorf("access unit %d: PSNR against the previous picture %.1f dB", i, p)
					}
					prev.Release()
				}
				prev = pic
			}
			prev.Release()
			if idrs != tc.idrs {
				t.Errorf("%d IDRs, want %d", idrs, tc.idrs)
			}
			t.Logf("%d pictures, %d slices, %d IDRs", len(aus), slices, idrs)
		})
	}
}

func TestSplitAccessUnits(t *testing.T) {
	aus := encodeStream(t, EncoderConfig{Width: 160, Height: 96, FPS: 30, KeyframeInterval: 4}, 9)
	stream := bytes.Join(aus, nil)
	got := SplitAccessUnits(stream)
	if len(got) != len(aus) {
		t.Fatalf("%d access units, want %d", len(got), len(aus))
	}
	for i := range aus {
		if !bytes.Equal(got[i], aus[i]) {
			t.Errorf("access unit %d differs", i)
		}
	}

	// Three-byte start codes, trailing zeros, an AUD, garbage in front.
	sps := []byte{0x67, 0x42, 0xe0, 0x1f, 0xaa}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	idr0 := []byte{0x65, 0x88, 0x84} // first_mb_in_slice 0
	idr1 := []byte{0x65, 0x40, 0x11} // first_mb_in_slice 1
	p0 := []byte{0x41, 0x9a, 0x20}   // first_mb_in_slice 0
	p2 := []byte{0x41, 0x30, 0x20}   // first_mb_in_slice 2
	p1 := []byte{0x41, 0x40, 0x20}   // first_mb_in_slice 1 (new picture: first slice lost)
	aud := []byte{0x09, 0xf0}
	var b []byte
	add := func(sc []byte, nal []byte) { b = append(append(b, sc...), nal...) }
	b = append(b, 0xff, 0x12)
	add([]byte{0, 0, 0, 1}, sps)
	add([]byte{0, 0, 1}, pps)
	add([]byte{0, 0, 1}, idr0)
	add([]byte{0, 0, 1}, idr1)
	b = append(b, 0, 0) // trailing_zero_8bits
	add([]byte{0, 0, 0, 1}, p0)
	add([]byte{0, 0, 1}, p2)
	add([]byte{0, 0, 1}, p1)
	add([]byte{0, 0, 1}, aud)
	add([]byte{0, 0, 1}, p0)
	units := SplitAccessUnits(b)
	var shape [][]int
	for _, au := range units {
		shape = append(shape, nalTypes(au))
	}
	want := [][]int{{7, 8, 5, 5}, {1, 1}, {1}, {9, 1}}
	if fmt.Sprint(shape) != fmt.Sprint(want) {
		t.Fatalf("access units %v, want %v", shape, want)
	}
	if !bytes.HasPrefix(units[0], []byte{0, 0, 0, 1, 0x67}) || !bytes.HasSuffix(units[0], []byte{0x40, 0x11, 0, 0}) {
		t.Errorf("first access unit % x", units[0])
	}
	nals := SplitNALUnits(b)
	if len(nals) != 9 || !bytes.Equal(nals[0], sps) || !bytes.Equal(nals[3], idr1) {
		t.Errorf("SplitNALUnits: %d units", len(nals))
	}
	if SplitNALUnits([]byte{1, 2, 3}) != nil || SplitAccessUnits(nil) != nil {
		t.Errorf("input without start codes gave units")
	}
}

func TestChooseLevel(t *testing.T) {
	for _, tc := range []struct{ w, h, fps, bps, want int }{
		{160, 90, 15, 100_000, 31},
		{1280, 720, 30, 2_500_000, 31},
		{1280, 720, 30, 16_000_000, 32},
		{1280, 720, 60, 2_500_000, 32},
		{1920, 1080, 30, 4_000_000, 40},
		{1920, 1080, 30, 30_000_000, 41},
		{1920, 1080, 60, 6_000_000, 42},
		{3840, 2160, 30, 15_000_000, 51},
		{4096, 2304, 60, 15_000_000, 0},
		{4096, 16, 1, 100_000, 40}, // 256 MBs wide: sqrt(8*MaxFS) allows it from level 4.0
	} {
		if got := chooseLevel(tc.w, tc.h, tc.fps, tc.bps); got != tc.want {
			t.Errorf("chooseLevel(%dx%d@%d, %d bps) = %d, want %d", tc.w, tc.h, tc.fps, tc.bps, got, tc.want)
		}
	}
	if DefaultBitrate(640, 360) != 700_000 {
		t.Errorf("DefaultBitrate(640, 360) = %d", DefaultBitrate(640, 360))
	}
	if b := DefaultBitrate(1280, 720); b < 1_400_000 || b > 1_600_000 {
		t.Errorf("DefaultBitrate(1280, 720) = %d", b)
	}
}

func TestZeroAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("instrumented build")
	}
	const w, h = 320, 180
	enc := newEncoder(t, EncoderConfig{Width: w, Height: h, FPS: 30})
	frames := make([]*codec.Frame, 8)
	for i := range frames {
		frames[i] = codec.NewFrame(w, h)
		codectest.MovingPicture(frames[i], i)
	}
	n := 0
	var aus [][]byte
	encode := func() {
		pkt, err := enc.Encode(frames[n%len(frames)])
		if err != nil {
			t.Fatal(err)
		}
		n++
		if len(aus) < 30 {
			aus = append(aus, bytes.Clone(pkt.Data))
		}
	}
	for range 30 {
		encode()
	}
	if a := testing.AllocsPerRun(100, encode); a != 0 {
		t.Errorf("Encode: %.1f allocations per picture", a)
	}

	dec := newDecoder(t, codec.NewFramePool(4))
	i := 0
	decode := func() {
		pic, err := dec.Decode(aus[i%len(aus)])
		i++
		if err != nil || pic == nil {
			t.Fatalf("decode %d: %v", i, err)
		}
		pic.Release()
	}
	for range len(aus) {
		decode()
	}
	if a := testing.AllocsPerRun(100, decode); a != 0 {
		t.Errorf("Decode+Release: %.1f allocations per picture", a)
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, size := range [][2]int{{640, 360}, {1280, 720}} {
		w, h := size[0], size[1]
		b.Run(fmt.Sprintf("%dx%d", w, h), func(b *testing.B) {
			enc := newEncoder(b, EncoderConfig{Width: w, Height: h, FPS: 30})
			frames := make([]*codec.Frame, 30)
			for i := range frames {
				frames[i] = codec.NewFrame(w, h)
				codectest.MovingPicture(frames[i], i)
			}
			total := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				pkt, err := enc.Encode(frames[i%len(frames)])
				if err != nil {
					b.Fatal(err)
				}
				total += len(pkt.Data)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/frame")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, size := range [][2]int{{640, 360}, {1280, 720}} {
		w, h := size[0], size[1]
		b.Run(fmt.Sprintf("%dx%d", w, h), func(b *testing.B) {
			aus := encodeStream(b, EncoderConfig{Width: w, Height: h, FPS: 30, KeyframeInterval: 60}, 60)
			dec := newDecoder(b, codec.NewFramePool(4))
			for _, au := range aus { // warm the pool
				if pic, err := dec.Decode(au); err == nil && pic != nil {
					pic.Release()
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				pic, err := dec.Decode(aus[i%len(aus)])
				if err != nil || pic == nil {
					b.Fatalf("decode %d: %v", i, err)
				}
				pic.Release()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/frame")
		})
	}
}

func errorsIsCorrupt(err error) bool { return errors.Is(err, codec.ErrCorrupt) }

// The size read from the encoder's own parameter sets is the picture's,
// not the macroblocks': x264 codes 320x180 as 320x192 and crops it.
func TestParameterSetsGiveTheShownSize(t *testing.T) {
	for _, size := range [][2]int{{320, 180}, {640, 360}, {1280, 720}, {426, 240}} {
		enc := newEncoder(t, EncoderConfig{Width: size[0], Height: size[1], FPS: 30})
		f := codec.NewFrame(size[0], size[1])
		pkt, err := enc.Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		if w, h, ok := nal.PictureSize(pkt.Data); !ok || w != size[0] || h != size[1] {
			t.Errorf("%dx%d: parameter sets say %dx%d (ok %v)", size[0], size[1], w, h, ok)
		}
	}
}
