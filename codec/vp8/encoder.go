package vp8

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>

// tess_vp8_enc is everything libvpx needs for one stream, in C memory so
// that the codec context (which points into itself) never moves and no Go
// pointer is ever stored on the C side.
typedef struct {
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg;
	int ctx_ready;
	vpx_image_t *img;      // source picture; Encode copies the Go frame here
	vpx_codec_pts_t pts;
	uint8_t *out;          // compressed data produced by the last encode
	size_t out_len, out_cap;
	int out_key;
} tess_vp8_enc;

static void tess_vp8_enc_free(tess_vp8_enc *e) {
	if (e == NULL) return;
	if (e->ctx_ready) vpx_codec_destroy(&e->ctx);
	if (e->img != NULL) vpx_img_free(e->img);
	free(e->out);
	free(e);
}

// tess_vp8_enc_new sets up a real-time CBR encoder. On failure it returns
// NULL with *err set; if the failure came from vpx_codec_enc_init, *msg
// holds libvpx's static description of it.
static tess_vp8_enc *tess_vp8_enc_new(int w, int h, int fps, int kbps,
		int cpu_used, int kf_max, int max_intra_pct,
		vpx_codec_err_t *err, const char **msg) {
	*msg = NULL;
	tess_vp8_enc *e = calloc(1, sizeof *e);
	if (e == NULL) {
		*err = VPX_CODEC_MEM_ERROR;
		return NULL;
	}
	*err = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &e->cfg, 0);
	if (*err != VPX_CODEC_OK) goto fail;

	vpx_codec_enc_cfg_t *c = &e->cfg;
	c->g_w = w;
	c->g_h = h;
	c->g_timebase.num = 1;
	c->g_timebase.den = fps;
	c->g_threads = 1;
	c->g_lag_in_frames = 0;
	c->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
	c->g_pass = VPX_RC_ONE_PASS;
	c->rc_end_usage = VPX_CBR;
	c->rc_target_bitrate = kbps;
	c->rc_resize_allowed = 0;
	// Never drop a picture: the compositor already paces the output and
	// congestion is handled by lowering the target with SetBitrate.
	c->rc_dropframe_thresh = 0;
	c->rc_min_quantizer = 2;
	// The whole quantizer range: with the ceiling at 56, grainy
	// composites overshot a 1.5 Mbps target by 80 % (2.7 Mbps).
	c->rc_max_quantizer = 63;
	c->rc_undershoot_pct = 100;
	c->rc_overshoot_pct = 15;
	// Buffer model in milliseconds: a one-second decoder buffer, aiming at
	// 600 ms of fullness, is what browsers use for real-time VP8.
	c->rc_buf_initial_sz = 500;
	c->rc_buf_optimal_sz = 600;
	c->rc_buf_sz = 1000;
	c->kf_mode = VPX_KF_AUTO;
	c->kf_min_dist = 0;
	c->kf_max_dist = kf_max;

	*err = vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), &e->cfg, 0);
	if (*err != VPX_CODEC_OK) {
		*msg = e->ctx.err_detail;
		goto fail;
	}
	e->ctx_ready = 1;

#define TESS_CTRL(id, v) \
	if ((*err = vpx_codec_control(&e->ctx, id, v)) != VPX_CODEC_OK) goto fail
	TESS_CTRL(VP8E_SET_CPUUSED, cpu_used);
	// The encoder's input is a composited picture built from decoded
	// video; temporal denoising would spend CPU to blur it further.
	TESS_CTRL(VP8E_SET_NOISE_SENSITIVITY, 0u);
	// Skip macroblocks whose change is below the threshold: a cheap win
	// on mostly static layouts that never costs visible quality.
	TESS_CTRL(VP8E_SET_STATIC_THRESHOLD, 1u);
	TESS_CTRL(VP8E_SET_TOKEN_PARTITIONS, (int)VP8_ONE_TOKENPARTITION);
	TESS_CTRL(VP8E_SET_MAX_INTRA_BITRATE_PCT, (unsigned int)max_intra_pct);
	TESS_CTRL(VP8E_SET_SCREEN_CONTENT_MODE, 0u);
#undef TESS_CTRL

	e->img = vpx_img_alloc(NULL, VPX_IMG_FMT_I420, w, h, 32);
	if (e->img == NULL) {
		*err = VPX_CODEC_MEM_ERROR;
		goto fail;
	}
	return e;

fail:
	tess_vp8_enc_free(e);
	return NULL;
}

static void tess_copy_plane(uint8_t *dst, int dst_stride,
		const uint8_t *src, int src_stride, int w, int h) {
	for (int r = 0; r < h; r++) {
		memcpy(dst + (size_t)r * dst_stride, src + (size_t)r * src_stride, w);
	}
}

// tess_vp8_enc_encode copies one tightly packed I420 picture into the
// source image, encodes it and gathers the compressed data into e->out.
// The plane pointers are only read during this call.
static vpx_codec_err_t tess_vp8_enc_encode(tess_vp8_enc *e,
		const uint8_t *y, const uint8_t *u, const uint8_t *v, int force_kf) {
	vpx_image_t *img = e->img;
	int w = img->d_w, h = img->d_h;
	int cw = (w + 1) / 2, ch = (h + 1) / 2;
	tess_copy_plane(img->planes[VPX_PLANE_Y], img->stride[VPX_PLANE_Y], y, w, w, h);
	tess_copy_plane(img->planes[VPX_PLANE_U], img->stride[VPX_PLANE_U], u, cw, cw, ch);
	tess_copy_plane(img->planes[VPX_PLANE_V], img->stride[VPX_PLANE_V], v, cw, cw, ch);

	e->out_len = 0;
	e->out_key = 0;
	vpx_enc_frame_flags_t flags = force_kf ? VPX_EFLAG_FORCE_KF : 0;
	vpx_codec_err_t err = vpx_codec_encode(&e->ctx, img, e->pts, 1, flags, VPX_DL_REALTIME);
	e->pts++;
	if (err != VPX_CODEC_OK) return err;

	vpx_codec_iter_t iter = NULL;
	const vpx_codec_cx_pkt_t *pkt;
	while ((pkt = vpx_codec_get_cx_data(&e->ctx, &iter)) != NULL) {
		if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
		size_t n = pkt->data.frame.sz;
		if (e->out_len + n > e->out_cap) {
			size_t c = e->out_cap ? e->out_cap : 16384;
			while (c < e->out_len + n) c *= 2;
			uint8_t *p = realloc(e->out, c);
			if (p == NULL) return VPX_CODEC_MEM_ERROR;
			e->out = p;
			e->out_cap = c;
		}
		memcpy(e->out + e->out_len, pkt->data.frame.buf, n);
		e->out_len += n;
		if (pkt->data.frame.flags & VPX_FRAME_IS_KEY) e->out_key = 1;
	}
	return VPX_CODEC_OK;
}

static vpx_codec_err_t tess_vp8_enc_set_bitrate(tess_vp8_enc *e, int kbps) {
	unsigned int old = e->cfg.rc_target_bitrate;
	e->cfg.rc_target_bitrate = kbps;
	vpx_codec_err_t err = vpx_codec_enc_config_set(&e->ctx, &e->cfg);
	if (err != VPX_CODEC_OK) e->cfg.rc_target_bitrate = old;
	return err;
}
*/
import "C"

import (
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/tessera-mcu/tessera/codec"
)

// Defaults and limits of EncoderConfig.
const (
	// DefaultFPS is the frame rate used when EncoderConfig.FPS is 0.
	DefaultFPS = 30
	// DefaultCPUUsed is the libvpx speed used when EncoderConfig.CPUUsed is
	// 0. Negative values select a fixed speed. On 1280x720 composites at
	// 1.5 Mbps (scripts/encoderbench.sh) -12 costs a quarter to a third
	// less time per picture than -6 for 0.1-0.2 dB of PSNR; -16 saves a
	// little more but loses up to 0.8 dB and overshoots its bitrate on
	// busy pictures.
	DefaultCPUUsed = -12
	// DefaultKeyframeSeconds is the longest run without a keyframe when
	// EncoderConfig.KeyframeInterval is 0. Receivers ask for keyframes
	// when they need one, so periodic ones are only a safety net.
	DefaultKeyframeSeconds = 10

	// MinBitrate and MaxBitrate bound the target bitrate in bits per second.
	MinBitrate = 10_000
	MaxBitrate = 100_000_000
	// MaxDimension is the largest width or height VP8 can code (14 bits).
	MaxDimension = 16383
	// MaxFPS is the highest frame rate the encoder accepts.
	MaxFPS = 240
)

// limits are the sizes, frame rates and bitrates NewEncoder and SetBitrate
// accept.
var limits = codec.VideoLimits{
	Codec: "vp8", MaxWidth: MaxDimension, MaxHeight: MaxDimension,
	MaxFPS: MaxFPS, MinBitrate: MinBitrate, MaxBitrate: MaxBitrate,
}

// EncoderConfig describes an encoder's output. Zero values of every field
// but Width and Height select the documented default.
type EncoderConfig struct {
	// Width and Height are the picture size in pixels, 1..MaxDimension.
	Width, Height int
	// FPS is the frame rate Encode is called at, 1..MaxFPS; 0 means
	// DefaultFPS. Rate control spends Bitrate/FPS bits per picture.
	FPS int
	// Bitrate is the target in bits per second, MinBitrate..MaxBitrate;
	// 0 means DefaultBitrate(Width, Height). libvpx works in kbit/s, so the
	// target is rounded to the nearest 1000.
	Bitrate int
	// CPUUsed is libvpx's speed/quality trade-off, -16..16; 0 means
	// DefaultCPUUsed (libvpx's own speed 0 is far too slow for real time
	// and cannot be selected). Larger magnitudes are faster; positive
	// values let libvpx raise the speed further when it falls behind.
	CPUUsed int
	// KeyframeInterval is the largest number of frames between keyframes;
	// 0 means DefaultKeyframeSeconds*FPS.
	KeyframeInterval int
}

// DefaultBitrate is codec.RealTimeBitrate for a w x h stream, rounded to
// 10 kbit/s and kept within 50 kbit/s..MaxBitrate: about 700 kbit/s at
// 640x360 and 1.5 Mbit/s at 1280x720. It returns 0 for an empty size.
func DefaultBitrate(w, h int) int {
	if w <= 0 || h <= 0 {
		return 0
	}
	bps := math.Round(codec.RealTimeBitrate(w, h)/10_000) * 10_000
	return int(min(max(bps, 50_000), MaxBitrate))
}

// withDefaults fills in zero fields and checks every value.
func (c EncoderConfig) withDefaults() (EncoderConfig, error) {
	if c.FPS == 0 {
		c.FPS = DefaultFPS
	}
	if c.Bitrate == 0 {
		c.Bitrate = DefaultBitrate(c.Width, c.Height)
	}
	if err := limits.CheckConfig(c.Width, c.Height, c.FPS, c.Bitrate); err != nil {
		return c, err
	}
	if c.CPUUsed == 0 {
		c.CPUUsed = DefaultCPUUsed
	}
	if c.CPUUsed < -16 || c.CPUUsed > 16 {
		return c, fmt.Errorf("%w: vp8: CPUUsed %d outside -16..16", codec.ErrInvalidConfig, c.CPUUsed)
	}
	if c.KeyframeInterval == 0 {
		c.KeyframeInterval = DefaultKeyframeSeconds * c.FPS
	}
	if c.KeyframeInterval < 1 || c.KeyframeInterval > math.MaxInt32 {
		return c, fmt.Errorf("%w: vp8: keyframe interval %d frames outside 1..%d", codec.ErrInvalidConfig,
			c.KeyframeInterval, math.MaxInt32)
	}
	return c, nil
}

func kbps(bps int) C.int { return C.int((bps + 500) / 1000) }

// Encoder is a real-time VP8 encoder for pictures of one size. Encode copies
// each picture into a C-owned source image before handing it to libvpx, so
// the caller may reuse or release the frame as soon as Encode returns.
type Encoder struct {
	mu      sync.Mutex
	c       *C.tess_vp8_enc // nil once closed
	cfg     EncoderConfig
	bitrate int
	out     []byte

	keyframe codec.KeyframeRequest
}

var (
	_ codec.VideoEncoder   = (*Encoder)(nil)
	_ codec.KeyframeForcer = (*Encoder)(nil)
)

// NewEncoder returns an encoder for cfg. Its first picture is a keyframe.
// The encoder holds C memory until Close.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var code C.vpx_codec_err_t
	var detail *C.char
	c := C.tess_vp8_enc_new(C.int(cfg.Width), C.int(cfg.Height), C.int(cfg.FPS), kbps(cfg.Bitrate),
		C.int(cfg.CPUUsed), C.int(cfg.KeyframeInterval), C.int(maxIntraPercent(cfg.FPS)), &code, &detail)
	if c == nil {
		msg := C.GoString(C.vpx_codec_err_to_string(code))
		if detail != nil {
			msg += ": " + C.GoString(detail)
		}
		if code == C.VPX_CODEC_INVALID_PARAM {
			return nil, fmt.Errorf("%w: vp8: %s", codec.ErrInvalidConfig, msg)
		}
		return nil, fmt.Errorf("%w: vp8: create encoder: %s", codec.ErrLibrary, msg)
	}
	return &Encoder{c: c, cfg: cfg, bitrate: cfg.Bitrate}, nil
}

// maxIntraPercent caps a keyframe at half the optimal buffer level, as a
// percentage of an average frame, so that a forced keyframe cannot stall
// the stream for long. Never below 300%, which would starve keyframes.
func maxIntraPercent(fps int) int {
	const optimalBufferMs = 600
	return max(optimalBufferMs*fps/20, 300)
}

// Config is the configuration in use, with defaults filled in. Bitrate is
// the initial target; see Bitrate for the current one.
func (e *Encoder) Config() EncoderConfig { return e.cfg }

// Encode encodes f, which must have the encoder's size. The packet's Data
// is owned by the encoder and valid until the next call to Encode.
func (e *Encoder) Encode(f *codec.Frame) (codec.VideoPacket, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c == nil {
		return codec.VideoPacket{}, codec.ErrClosed
	}
	if err := limits.CheckFrame(f, e.cfg.Width, e.cfg.Height); err != nil {
		return codec.VideoPacket{}, err
	}

	force := e.keyframe.Take()
	var kf C.int
	if force {
		kf = 1
	}
	code := C.tess_vp8_enc_encode(e.c,
		(*C.uint8_t)(unsafe.Pointer(&f.Y[0])),
		(*C.uint8_t)(unsafe.Pointer(&f.U[0])),
		(*C.uint8_t)(unsafe.Pointer(&f.V[0])), kf)
	if code != C.VPX_CODEC_OK {
		e.keyframe.Restore(force)
		return codec.VideoPacket{}, e.libError("encode", code)
	}
	n := int(e.c.out_len)
	if n == 0 {
		// Nothing came out; a pending keyframe request still applies.
		e.keyframe.Restore(force)
		return codec.VideoPacket{}, nil
	}
	if cap(e.out) < n {
		e.out = make([]byte, n, n+n/2)
	}
	e.out = e.out[:n]
	copy(e.out, unsafe.Slice((*byte)(unsafe.Pointer(e.c.out)), n))
	return codec.VideoPacket{Data: e.out, Keyframe: e.c.out_key != 0}, nil
}

// ForceKeyframe makes the next picture Encode produces a keyframe. It may
// be called from any goroutine.
func (e *Encoder) ForceKeyframe() { e.keyframe.Request() }

// SetBitrate changes the target bitrate, in bits per second, from the next
// picture on.
func (e *Encoder) SetBitrate(bps int) error {
	if err := limits.CheckBitrate(bps); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c == nil {
		return codec.ErrClosed
	}
	if code := C.tess_vp8_enc_set_bitrate(e.c, kbps(bps)); code != C.VPX_CODEC_OK {
		return e.libError("set bitrate", code)
	}
	e.bitrate = bps
	return nil
}

// Bitrate is the current target in bits per second.
func (e *Encoder) Bitrate() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.bitrate
}

// Close frees the encoder. Later calls return codec.ErrClosed; Close itself
// may be called more than once.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c != nil {
		C.tess_vp8_enc_free(e.c)
		e.c = nil
	}
	return nil
}

// libError describes a failed libvpx call. It must be called with e.mu held.
func (e *Encoder) libError(op string, code C.vpx_codec_err_t) error {
	return ctxError(&e.c.ctx, codec.ErrLibrary, op, code)
}

// ctxError wraps sentinel with libvpx's description of code and, when
// there is one, the context's detail message.
func ctxError(ctx *C.vpx_codec_ctx_t, sentinel error, op string, code C.vpx_codec_err_t) error {
	msg := C.GoString(C.vpx_codec_err_to_string(code))
	if d := C.vpx_codec_error_detail(ctx); d != nil {
		msg += ": " + C.GoString(d)
	}
	return fmt.Errorf("%w: vp8: %s: %s", sentinel, op, msg)
}
