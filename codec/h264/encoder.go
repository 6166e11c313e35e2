package h264

/*
#cgo pkg-config: x264
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x264.h>

// tessera_x264 is everything one encoder owns on the C side. The picture
// and the log buffer live here, in C memory, so that no Go pointer is ever
// stored where C code keeps it.
typedef struct {
	x264_t *enc;
	x264_param_t param;
	x264_picture_t in, out;
	x264_nal_t *nals;
	int nnal;
	char log[256];
} tessera_x264;

static void tessera_x264_log(void *priv, int level, const char *fmt, va_list ap) {
	tessera_x264 *t = priv;
	if (level > X264_LOG_ERROR) {
		return;
	}
	vsnprintf(t->log, sizeof t->log, fmt, ap);
	size_t n = strlen(t->log);
	while (n > 0 && (t->log[n-1] == '\n' || t->log[n-1] == ' ')) {
		t->log[--n] = 0;
	}
}

static tessera_x264 *tessera_x264_new(void) {
	tessera_x264 *t = calloc(1, sizeof *t);
	if (t == NULL) {
		return NULL;
	}
	x264_picture_init(&t->in);
	x264_picture_init(&t->out);
	return t;
}

// tessera_x264_configure fills t->param. It returns 0, or -1 if x264 rejects
// the preset or the profile (the message is in t->log).
static int tessera_x264_configure(tessera_x264 *t, int w, int h, int fps, int kbps,
		int vbv_kbit, int keyint, int level, int slice_max) {
	x264_param_t *p = &t->param;
	if (x264_param_default_preset(p, "ultrafast", "zerolatency") < 0) {
		snprintf(t->log, sizeof t->log, "preset ultrafast/zerolatency rejected");
		return -1;
	}
	p->pf_log = tessera_x264_log;
	p->p_log_private = t;
	p->i_log_level = X264_LOG_ERROR;

	// One thread, no frame or slice parallelism, no lookahead: one picture
	// in, one access unit out, on the caller's thread.
	p->i_threads = 1;
	p->i_lookahead_threads = 1;
	p->b_sliced_threads = 0;
	p->i_sync_lookahead = 0;
	p->rc.i_lookahead = 0;
	p->i_bframe = 0;

	p->i_width = w;
	p->i_height = h;
	p->i_csp = X264_CSP_I420;
	p->i_level_idc = level;
	p->i_fps_num = fps;
	p->i_fps_den = 1;
	p->i_timebase_num = 1;
	p->i_timebase_den = fps;
	p->b_vfr_input = 0;

	p->i_keyint_max = keyint;
	p->i_keyint_min = keyint;
	p->i_scenecut_threshold = 0;
	p->b_intra_refresh = 0;

	// slice_max > 0 cuts each picture into slices of at most that many
	// bytes (NAL header and emulation prevention included), so that every
	// NAL unit fits one RTP packet.
	p->i_slice_max_size = slice_max;

	p->b_annexb = 1;
	p->b_repeat_headers = 1;
	p->b_aud = 0;

	p->rc.i_rc_method = X264_RC_ABR;
	p->rc.i_bitrate = kbps;
	p->rc.i_vbv_max_bitrate = kbps;
	p->rc.i_vbv_buffer_size = vbv_kbit;

	if (x264_param_apply_profile(p, "baseline") < 0) {
		if (t->log[0] == 0) {
			snprintf(t->log, sizeof t->log, "profile baseline rejected");
		}
		return -1;
	}
	return 0;
}

static int tessera_x264_open(tessera_x264 *t) {
	t->enc = x264_encoder_open(&t->param);
	if (t->enc == NULL) {
		if (t->log[0] == 0) {
			snprintf(t->log, sizeof t->log, "x264_encoder_open failed");
		}
		return -1;
	}
	return 0;
}

// tessera_x264_encode encodes one I420 picture whose planes the caller
// passes as arguments. x264 copies the planes into its own padded frame
// inside x264_encoder_encode, so the pointers are cleared again before
// returning. It returns the number of bytes produced (0 if none) or a
// negative number on error.
static int tessera_x264_encode(tessera_x264 *t, uint8_t *y, uint8_t *u, uint8_t *v,
		int w, int cw, int64_t pts, int idr) {
	t->in.img.i_csp = X264_CSP_I420;
	t->in.img.i_plane = 3;
	t->in.img.plane[0] = y;
	t->in.img.plane[1] = u;
	t->in.img.plane[2] = v;
	t->in.img.i_stride[0] = w;
	t->in.img.i_stride[1] = cw;
	t->in.img.i_stride[2] = cw;
	t->in.i_type = idr ? X264_TYPE_IDR : X264_TYPE_AUTO;
	t->in.i_pts = pts;
	t->nals = NULL;
	t->nnal = 0;
	int n = x264_encoder_encode(t->enc, &t->nals, &t->nnal, &t->in, &t->out);
	t->in.img.plane[0] = t->in.img.plane[1] = t->in.img.plane[2] = NULL;
	return n;
}

static int tessera_x264_nal_type(tessera_x264 *t, int i) { return t->nals[i].i_type; }
static int tessera_x264_nal_size(tessera_x264 *t, int i) { return t->nals[i].i_payload; }
static uint8_t *tessera_x264_nal_data(tessera_x264 *t, int i) { return t->nals[i].p_payload; }

static int tessera_x264_reconfig(tessera_x264 *t, int kbps, int vbv_kbit) {
	x264_param_t p;
	x264_encoder_parameters(t->enc, &p);
	p.rc.i_bitrate = kbps;
	p.rc.i_vbv_max_bitrate = kbps;
	p.rc.i_vbv_buffer_size = vbv_kbit;
	return x264_encoder_reconfig(t->enc, &p);
}

static void tessera_x264_free(tessera_x264 *t) {
	if (t->enc != NULL) {
		x264_encoder_close(t->enc);
	}
	free(t);
}
*/
import "C"

import (
	"fmt"
	"strconv"
	"sync"
	"unsafe"

	"github.com/tessera-mcu/tessera/codec"
)

// Limits that EncoderConfig and SetBitrate accept.
const (
	MinBitrate = 30_000     // bits per second
	MaxBitrate = 50_000_000 // bits per second
	MaxFPS     = 120
	// MaxWidth and MaxHeight bound the picture; its macroblock count must
	// also fit level 5.1.
	MaxWidth  = 4096
	MaxHeight = 4096
)

// limits are the sizes, frame rates and bitrates NewEncoder and SetBitrate
// accept.
var limits = codec.VideoLimits{
	Codec: "h264", MaxWidth: MaxWidth, MaxHeight: MaxHeight, EvenSize: true,
	MaxFPS: MaxFPS, MinBitrate: MinBitrate, MaxBitrate: MaxBitrate,
}

// vbvWindow is the VBV buffer expressed in seconds of the target bitrate.
// Half a second keeps the sender's bursts (and so the receiver's jitter
// buffer) short while still leaving room for a forced IDR of decent
// quality.
const vbvWindow = 0.5

// EncoderConfig configures an Encoder.
type EncoderConfig struct {
	// Width and Height are the picture size in pixels. Both must be even.
	Width, Height int
	// FPS is the nominal frame rate (1..MaxFPS); rate control budgets
	// Bitrate/FPS bits per picture.
	FPS int
	// Bitrate is the target in bits per second (MinBitrate..MaxBitrate).
	// Zero means DefaultBitrate(Width, Height).
	Bitrate int
	// KeyframeInterval is the most pictures between two IDRs. Zero means
	// ten seconds' worth; IDRs are meant to be forced on demand.
	KeyframeInterval int
	// MaxSliceBytes, if set (MinSliceBytes or more), cuts every picture
	// into slices of at most that many bytes each, so that each NAL unit
	// fits one RTP packet (RFC 6184 single NAL unit mode). Zero: one slice
	// per picture. x264 keeps to it for any slice that holds more than
	// one macroblock; a single macroblock larger than that is still one
	// NAL unit.
	MaxSliceBytes int
}

// MinSliceBytes is the smallest MaxSliceBytes accepted.
const MinSliceBytes = 200

// DefaultBitrate is codec.RealTimeBitrate for a w x h picture, rounded
// down to 1 kbit/s and kept within MinBitrate..MaxBitrate: 700 kbps at
// 640x360, about 1.5 Mbps at 1280x720.
func DefaultBitrate(w, h int) int {
	if w <= 0 || h <= 0 {
		return MinBitrate
	}
	bps := codec.RealTimeBitrate(w, h)
	return min(max(int(bps)/1000*1000, MinBitrate), MaxBitrate)
}

// level is one row of H.264 table A-1 (the entries baseline can use).
type level struct {
	idc    int // level_idc, e.g. 31 for level 3.1
	maxFS  int // macroblocks per picture
	maxMBs int // macroblocks per second
	maxBR  int // kbit/s (baseline: cpbBrVclFactor 1000)
}

// levels starts at 3.1: that is the level of profile-level-id 42e01f,
// which Chromium offers and expects, and a level is only an upper bound,
// so smaller pictures declare it too.
var levels = []level{
	{31, 3600, 108000, 14000},
	{32, 5120, 216000, 20000},
	{40, 8192, 245760, 20000},
	{41, 8192, 245760, 50000},
	{42, 8704, 522240, 50000},
	{50, 22080, 589824, 135000},
	{51, 36864, 983040, 240000},
}

// chooseLevel returns the smallest level that holds w x h at fps and
// bps, or 0 if none does.
func chooseLevel(w, h, fps, bps int) int {
	fs := ((w + 15) / 16) * ((h + 15) / 16)
	for _, l := range levels {
		// The picture's width and height in macroblocks must each stay
		// below sqrt(8*MaxFS) (A.3.1 f and g).
		maxSide := isqrt(8 * l.maxFS)
		if fs <= l.maxFS && fs*fps <= l.maxMBs && bps <= l.maxBR*1000 &&
			(w+15)/16 <= maxSide && (h+15)/16 <= maxSide {
			return l.idc
		}
	}
	return 0
}

func levelMaxBR(idc int) int {
	for _, l := range levels {
		if l.idc == idc {
			return l.maxBR * 1000
		}
	}
	return 0
}

func (c *EncoderConfig) validate() error {
	if err := limits.CheckConfig(c.Width, c.Height, c.FPS, c.Bitrate); err != nil {
		return err
	}
	if c.KeyframeInterval < 0 {
		return fmt.Errorf("%w: h264: keyframe interval %d is negative", codec.ErrInvalidConfig, c.KeyframeInterval)
	}
	if c.MaxSliceBytes != 0 && c.MaxSliceBytes < MinSliceBytes {
		return fmt.Errorf("%w: h264: slice size %d below %d bytes", codec.ErrInvalidConfig, c.MaxSliceBytes, MinSliceBytes)
	}
	return nil
}

// Encoder is a constrained-baseline H.264 encoder (libx264). It implements
// codec.VideoEncoder and codec.KeyframeForcer; SetBitrate changes its
// target while it runs.
type Encoder struct {
	mu      sync.Mutex // serialises Encode, SetBitrate and Close
	c       *C.tessera_x264
	cfg     EncoderConfig
	level   int
	cw      int
	pts     int64
	bitrate int
	buf     []byte // the last access unit; VideoPacket.Data aliases it

	idr codec.KeyframeRequest
}

var (
	_ codec.VideoEncoder   = (*Encoder)(nil)
	_ codec.KeyframeForcer = (*Encoder)(nil)
)

// NewEncoder opens an encoder for cfg. Settings out of range are reported
// as codec.ErrInvalidConfig.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	if cfg.Bitrate == 0 {
		cfg.Bitrate = DefaultBitrate(cfg.Width, cfg.Height)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.KeyframeInterval == 0 {
		cfg.KeyframeInterval = 10 * cfg.FPS
	}
	lvl := chooseLevel(cfg.Width, cfg.Height, cfg.FPS, cfg.Bitrate)
	if lvl == 0 {
		return nil, fmt.Errorf("%w: h264: %dx%d at %d fps and %d bps exceeds level 5.1",
			codec.ErrInvalidConfig, cfg.Width, cfg.Height, cfg.FPS, cfg.Bitrate)
	}
	c := C.tessera_x264_new()
	if c == nil {
		return nil, fmt.Errorf("%w: h264: out of memory", codec.ErrLibrary)
	}
	kbps, vbv := rateParams(cfg.Bitrate)
	if C.tessera_x264_configure(c, C.int(cfg.Width), C.int(cfg.Height), C.int(cfg.FPS),
		C.int(kbps), C.int(vbv), C.int(cfg.KeyframeInterval), C.int(lvl), C.int(cfg.MaxSliceBytes)) != 0 {
		err := fmt.Errorf("%w: h264: x264: %s", codec.ErrInvalidConfig, C.GoString(&c.log[0]))
		C.tessera_x264_free(c)
		return nil, err
	}
	if C.tessera_x264_open(c) != 0 {
		err := fmt.Errorf("%w: h264: x264: %s", codec.ErrLibrary, C.GoString(&c.log[0]))
		C.tessera_x264_free(c)
		return nil, err
	}
	return &Encoder{
		c:       c,
		cfg:     cfg,
		level:   lvl,
		cw:      (cfg.Width + 1) / 2,
		bitrate: cfg.Bitrate,
		// An IDR of a busy picture can take a few times the per-picture
		// budget; start with room for the whole VBV buffer.
		buf: make([]byte, 0, max(cfg.Bitrate/8/2, 64<<10)),
	}, nil
}

// rateParams converts bits per second to x264's kbit/s target and VBV
// buffer size in kbit.
func rateParams(bps int) (kbps, vbvKbit int) {
	kbps = max(bps/1000, 1)
	return kbps, max(int(float64(kbps)*vbvWindow), 1)
}

// Config is the configuration the encoder runs with, defaults filled in
// and Bitrate updated by SetBitrate.
func (e *Encoder) Config() EncoderConfig {
	e.mu.Lock()
	defer e.mu.Unlock()
	cfg := e.cfg
	cfg.Bitrate = e.bitrate
	return cfg
}

// ProfileLevelID is the profile-level-id the stream conforms to, as
// written in SDP (RFC 6184 section 8.1): "42e01f" for constrained baseline
// level 3.1.
func (e *Encoder) ProfileLevelID() string {
	return fmt.Sprintf("42e0%02x", e.level)
}

// Encode encodes f, which must have the encoder's size (codec.ErrFrameSize
// otherwise). The returned packet holds one Annex-B access unit; its Data
// stays valid until the next call to Encode or Close. An IDR access unit
// starts with the SPS and PPS and has Keyframe set.
func (e *Encoder) Encode(f *codec.Frame) (codec.VideoPacket, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c == nil {
		return codec.VideoPacket{}, codec.ErrClosed
	}
	if err := limits.CheckFrame(f, e.cfg.Width, e.cfg.Height); err != nil {
		return codec.VideoPacket{}, err
	}
	force := e.idr.Take()
	idr := 0
	if force {
		idr = 1
	}
	n := C.tessera_x264_encode(e.c,
		(*C.uint8_t)(unsafe.Pointer(&f.Y[0])),
		(*C.uint8_t)(unsafe.Pointer(&f.U[0])),
		(*C.uint8_t)(unsafe.Pointer(&f.V[0])),
		C.int(f.Width), C.int(e.cw), C.int64_t(e.pts), C.int(idr))
	e.pts++
	if n < 0 {
		e.idr.Restore(force)
		return codec.VideoPacket{}, fmt.Errorf("%w: h264: x264_encoder_encode returned %d", codec.ErrLibrary, int(n))
	}
	e.buf = e.buf[:0]
	keyframe := false
	for i := range int(e.c.nnal) {
		typ := int(C.tessera_x264_nal_type(e.c, C.int(i)))
		if typ == nalSEI {
			// x264 puts its version and options in a user-data SEI in
			// front of the first picture. Nothing downstream needs it.
			continue
		}
		size := int(C.tessera_x264_nal_size(e.c, C.int(i)))
		nal := unsafe.Slice((*byte)(unsafe.Pointer(C.tessera_x264_nal_data(e.c, C.int(i)))), size)
		start := len(e.buf)
		e.buf = append(e.buf, nal...)
		switch typ {
		case nalSPS:
			markConstrainedBaseline(e.buf[start:])
		case nalIDR:
			keyframe = true
		}
	}
	return codec.VideoPacket{Data: e.buf, Keyframe: keyframe}, nil
}

// markConstrainedBaseline sets constraint_set2_flag in an Annex-B baseline
// SPS. x264 writes constraint_set0 and constraint_set1 (0xc0: profile-level
// 42c0xx), which already makes the stream constrained baseline; Chromium,
// however, offers and answers 42e01f, and some endpoints compare the SDP
// value with the SPS byte for byte. The stream meets the Extended profile's
// constraints too (no CABAC, no FMO or ASO, direct_8x8_inference_flag 1,
// frame_mbs_only_flag 1), so constraint_set2_flag is truthful. The three
// bytes after the NAL header hold no emulation-prevention bytes, so the
// change is a plain byte write.
func markConstrainedBaseline(nal []byte) {
	i := startCodeLen(nal)
	if i == 0 || len(nal) < i+3 {
		return
	}
	if nal[i]&0x1f != nalSPS || nal[i+1] != profileBaseline {
		return
	}
	if nal[i+2]&0xc0 == 0xc0 {
		nal[i+2] |= 0x20
	}
}

// ForceKeyframe makes the next Encode produce an IDR (with SPS and PPS).
// It may be called from any goroutine and never blocks.
func (e *Encoder) ForceKeyframe() { e.idr.Request() }

// SetBitrate changes the target bitrate (bits per second) from the next
// picture on, through x264_encoder_reconfig. The VBV buffer is resized to
// match. A target the encoder's level cannot carry is codec.ErrInvalidConfig.
func (e *Encoder) SetBitrate(bps int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c == nil {
		return codec.ErrClosed
	}
	if err := limits.CheckBitrate(bps); err != nil {
		return err
	}
	if maxBR := levelMaxBR(e.level); bps > maxBR {
		return fmt.Errorf("%w: h264: bitrate %d bps exceeds level %s's %d bps",
			codec.ErrInvalidConfig, bps, levelName(e.level), maxBR)
	}
	kbps, vbv := rateParams(bps)
	if rc := C.tessera_x264_reconfig(e.c, C.int(kbps), C.int(vbv)); rc < 0 {
		return fmt.Errorf("%w: h264: x264_encoder_reconfig returned %d: %s", codec.ErrLibrary, int(rc), C.GoString(&e.c.log[0]))
	}
	e.bitrate = bps
	return nil
}

// Close frees the encoder. Later calls return codec.ErrClosed; Close
// itself may be called more than once.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c != nil {
		C.tessera_x264_free(e.c)
		e.c = nil
		e.buf = nil
	}
	return nil
}

func levelName(idc int) string {
	return strconv.Itoa(idc/10) + "." + strconv.Itoa(idc%10)
}

func isqrt(n int) int {
	r := 0
	for (r+1)*(r+1) <= n {
		r++
	}
	return r
}
