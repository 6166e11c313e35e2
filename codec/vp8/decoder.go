package vp8

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8dx.h>

typedef struct {
	vpx_codec_ctx_t ctx;
	int ctx_ready;
	uint8_t *in;       // private copy of the compressed frame
	size_t in_cap;
	vpx_image_t *img;  // picture of the last decode, owned by libvpx
	int corrupt;       // libvpx flagged that picture as damaged
} tess_vp8_dec;

static void tess_vp8_dec_free(tess_vp8_dec *d) {
	if (d == NULL) return;
	if (d->ctx_ready) vpx_codec_destroy(&d->ctx);
	free(d->in);
	free(d);
}

static tess_vp8_dec *tess_vp8_dec_new(vpx_codec_err_t *err) {
	tess_vp8_dec *d = calloc(1, sizeof *d);
	if (d == NULL) {
		*err = VPX_CODEC_MEM_ERROR;
		return NULL;
	}
	vpx_codec_dec_cfg_t cfg = {0};
	cfg.threads = 1;
	*err = vpx_codec_dec_init(&d->ctx, vpx_codec_vp8_dx(), &cfg, 0);
	if (*err != VPX_CODEC_OK) {
		free(d);
		return NULL;
	}
	d->ctx_ready = 1;
	return d;
}

// tess_vp8_dec_decode decodes n bytes at data. The input is copied first so
// that libvpx, which remembers where its last input was, only ever sees C
// memory. On success d->img is the picture to show, or NULL.
static vpx_codec_err_t tess_vp8_dec_decode(tess_vp8_dec *d, const uint8_t *data, size_t n) {
	d->img = NULL;
	d->corrupt = 0;
	if (n > d->in_cap) {
		size_t c = d->in_cap ? d->in_cap : 16384;
		while (c < n) c *= 2;
		uint8_t *p = realloc(d->in, c);
		if (p == NULL) return VPX_CODEC_MEM_ERROR;
		d->in = p;
		d->in_cap = c;
	}
	memcpy(d->in, data, n);
	vpx_codec_err_t err = vpx_codec_decode(&d->ctx, d->in, (unsigned int)n, NULL, 0);
	if (err != VPX_CODEC_OK) return err;
	int corrupt = 0;
	if (vpx_codec_control(&d->ctx, VP8D_GET_FRAME_CORRUPTED, &corrupt) == VPX_CODEC_OK) {
		d->corrupt = corrupt;
	}
	vpx_codec_iter_t iter = NULL;
	vpx_image_t *img;
	while ((img = vpx_codec_get_frame(&d->ctx, &iter)) != NULL) d->img = img;
	return VPX_CODEC_OK;
}

// tess_vp8_dec_copy copies d->img into tightly packed I420 planes.
static void tess_vp8_dec_copy(tess_vp8_dec *d, uint8_t *y, uint8_t *u, uint8_t *v) {
	const vpx_image_t *img = d->img;
	int w = img->d_w, h = img->d_h;
	int cw = (w + 1) / 2, ch = (h + 1) / 2;
	for (int r = 0; r < h; r++) {
		memcpy(y + (size_t)r * w, img->planes[VPX_PLANE_Y] + (size_t)r * img->stride[VPX_PLANE_Y], w);
	}
	for (int r = 0; r < ch; r++) {
		memcpy(u + (size_t)r * cw, img->planes[VPX_PLANE_U] + (size_t)r * img->stride[VPX_PLANE_U], cw);
		memcpy(v + (size_t)r * cw, img->planes[VPX_PLANE_V] + (size_t)r * img->stride[VPX_PLANE_V], cw);
	}
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

// MaxDecodePixels is the largest picture, in pixels, the decoder accepts
// (4096x2304, covering 4K UHD). A keyframe announcing a larger size is
// rejected before libvpx allocates anything for it, so a hostile sender
// cannot make the MCU reserve gigabytes.
const MaxDecodePixels = 4096 * 2304

// Decoder is a single-threaded VP8 decoder. It follows size changes at
// keyframes.
type Decoder struct {
	mu   sync.Mutex
	c    *C.tess_vp8_dec // nil once closed
	pool *codec.FramePool
}

var _ codec.VideoDecoder = (*Decoder)(nil)

// NewDecoder returns a decoder that takes its pictures from pool, or from a
// private pool when pool is nil. The decoder holds C memory until Close.
func NewDecoder(pool *codec.FramePool) (*Decoder, error) {
	if pool == nil {
		pool = codec.NewFramePool(0)
	}
	var code C.vpx_codec_err_t
	c := C.tess_vp8_dec_new(&code)
	if c == nil {
		return nil, fmt.Errorf("%w: vp8: create decoder: %s", codec.ErrLibrary,
			C.GoString(C.vpx_codec_err_to_string(code)))
	}
	return &Decoder{c: c, pool: pool}, nil
}

// Decode decodes one VP8 frame. The picture comes from the decoder's pool
// and belongs to the caller, who must Release it. Undecodable input,
// including a picture libvpx reports as damaged (for instance one that
// predicts from a frame that failed to decode), returns an error wrapping
// codec.ErrCorrupt; decoding resumes cleanly at the next keyframe.
func (d *Decoder) Decode(data []byte) (*codec.Frame, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: vp8: empty frame", codec.ErrCorrupt)
	}
	if len(data) > math.MaxInt32 {
		return nil, fmt.Errorf("%w: vp8: %d-byte frame", codec.ErrCorrupt, len(data))
	}
	if w, h, ok := keyframeSize(data); ok && w*h > MaxDecodePixels {
		return nil, fmt.Errorf("%w: vp8: keyframe size %dx%d exceeds %d pixels", codec.ErrCorrupt,
			w, h, MaxDecodePixels)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		return nil, codec.ErrClosed
	}
	code := C.tess_vp8_dec_decode(d.c, (*C.uint8_t)(unsafe.Pointer(&data[0])), C.size_t(len(data)))
	switch {
	case code == C.VPX_CODEC_MEM_ERROR:
		return nil, ctxError(&d.c.ctx, codec.ErrLibrary, "decode", code)
	case code != C.VPX_CODEC_OK:
		return nil, ctxError(&d.c.ctx, codec.ErrCorrupt, "decode", code)
	case d.c.corrupt != 0:
		return nil, fmt.Errorf("%w: vp8: picture damaged by missing or corrupt data", codec.ErrCorrupt)
	case d.c.img == nil:
		return nil, nil
	}
	img := d.c.img
	if img.fmt != C.VPX_IMG_FMT_I420 {
		return nil, fmt.Errorf("%w: vp8: decoder produced image format %#x, want I420", codec.ErrLibrary,
			uint(img.fmt))
	}
	w, h := int(img.d_w), int(img.d_h)
	if w < 1 || h < 1 || w*h > MaxDecodePixels {
		return nil, fmt.Errorf("%w: vp8: decoded picture is %dx%d", codec.ErrCorrupt, w, h)
	}
	f := d.pool.Get(w, h)
	C.tess_vp8_dec_copy(d.c,
		(*C.uint8_t)(unsafe.Pointer(&f.Y[0])),
		(*C.uint8_t)(unsafe.Pointer(&f.U[0])),
		(*C.uint8_t)(unsafe.Pointer(&f.V[0])))
	return f, nil
}

// keyframeSize reads the picture size from a keyframe header (RFC 6386
// section 9.1): a 3-byte frame tag whose low bit is 0, the start code
// 9d 01 2a, then 14-bit width and height, each with 2 bits of scaling.
func keyframeSize(b []byte) (w, h int, ok bool) {
	if len(b) < 10 || b[0]&1 != 0 || b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
		return 0, 0, false
	}
	w = int(b[6]) | int(b[7]&0x3f)<<8
	h = int(b[8]) | int(b[9]&0x3f)<<8
	return w, h, true
}

// Close frees the decoder. Later calls return codec.ErrClosed; Close itself
// may be called more than once. Frames already returned stay valid.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c != nil {
		C.tess_vp8_dec_free(d.c)
		d.c = nil
	}
	return nil
}
