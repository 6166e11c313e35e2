package h264

/*
#cgo pkg-config: libavcodec libavutil
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/pixfmt.h>

typedef struct {
	AVCodecContext *ctx;
	AVPacket *pkt;
	AVFrame *recv; // receive target
	AVFrame *pic;  // the newest picture of the last decode call
	char err[128];
} tessera_avdec;

static void tessera_avdec_quiet(void) { av_log_set_level(AV_LOG_QUIET); }

static void tessera_avdec_free(tessera_avdec *d) {
	avcodec_free_context(&d->ctx);
	av_packet_free(&d->pkt);
	av_frame_free(&d->recv);
	av_frame_free(&d->pic);
	free(d);
}

// tessera_avdec_new opens libavcodec's H.264 decoder for real-time use: one
// thread, no frame reordering delay, and no picture larger than max_pixels.
// On failure it returns NULL and writes the reason into err.
static tessera_avdec *tessera_avdec_new(int64_t max_pixels, char *err, size_t errlen) {
	const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_H264);
	if (codec == NULL) {
		snprintf(err, errlen, "libavcodec has no H.264 decoder");
		return NULL;
	}
	tessera_avdec *d = calloc(1, sizeof *d);
	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->ctx = avcodec_alloc_context3(codec);
	d->pkt = av_packet_alloc();
	d->recv = av_frame_alloc();
	d->pic = av_frame_alloc();
	if (d->ctx == NULL || d->pkt == NULL || d->recv == NULL || d->pic == NULL) {
		tessera_avdec_free(d);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->ctx->thread_count = 1;
	d->ctx->thread_type = 0;
	d->ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
	d->ctx->flags &= ~AV_CODEC_FLAG_OUTPUT_CORRUPT;
	d->ctx->flags2 &= ~AV_CODEC_FLAG2_SHOW_ALL;
	d->ctx->max_pixels = max_pixels;
	int ret = avcodec_open2(d->ctx, codec, NULL);
	if (ret < 0) {
		av_strerror(ret, err, errlen);
		tessera_avdec_free(d);
		return NULL;
	}
	return d;
}

// tessera_avdec_decode sends one access unit and collects what the decoder
// outputs. It returns 1 if d->pic holds a new picture, 0 if there is none
// yet, or a negative AVERROR (with d->err filled in).
//
// idr tells that the access unit holds an IDR. If the decoder has taken to
// holding pictures back for reordering by then (damaged input, or a stream
// whose POCs jumped, makes it raise has_b_frames, and it never lowers it),
// it is flushed first: nothing before an IDR is needed any more, and the
// IDR's own SPS sets the delay again if the stream really reorders.
static int tessera_avdec_decode(tessera_avdec *d, const uint8_t *data, int size, int idr) {
	av_frame_unref(d->pic);
	d->err[0] = 0;
	if (idr && d->ctx->has_b_frames > 0) {
		avcodec_flush_buffers(d->ctx);
		d->ctx->has_b_frames = 0;
	}
	int ret = av_new_packet(d->pkt, size);
	if (ret < 0) {
		av_strerror(ret, d->err, sizeof d->err);
		return ret;
	}
	memcpy(d->pkt->data, data, size);
	int got = 0;
	for (int tries = 0; tries < 2; tries++) {
		ret = avcodec_send_packet(d->ctx, d->pkt);
		if (ret != AVERROR(EAGAIN)) {
			break;
		}
		// A picture is still waiting to be received; take it and retry.
		while (avcodec_receive_frame(d->ctx, d->recv) == 0) {
			av_frame_unref(d->pic);
			av_frame_move_ref(d->pic, d->recv);
			got = 1;
		}
	}
	av_packet_unref(d->pkt);
	if (ret < 0) {
		av_strerror(ret, d->err, sizeof d->err);
		av_frame_unref(d->pic);
		return ret;
	}
	for (;;) {
		ret = avcodec_receive_frame(d->ctx, d->recv);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
			break;
		}
		if (ret < 0) {
			av_strerror(ret, d->err, sizeof d->err);
			av_frame_unref(d->pic);
			return ret;
		}
		av_frame_unref(d->pic);
		av_frame_move_ref(d->pic, d->recv);
		got = 1;
	}
	return got;
}

static int tessera_avdec_is_420(const AVFrame *f) {
	return f->format == AV_PIX_FMT_YUV420P || f->format == AV_PIX_FMT_YUVJ420P;
}

static int tessera_avdec_damaged(const AVFrame *f) {
	return (f->flags & AV_FRAME_FLAG_CORRUPT) != 0 || f->decode_error_flags != 0;
}

static void copy_plane(uint8_t *dst, int dst_stride, const uint8_t *src, int src_stride, int w, int h) {
	for (int y = 0; y < h; y++) {
		memcpy(dst + (size_t)y * dst_stride, src + (size_t)y * src_stride, w);
	}
}

// tessera_avdec_copy copies d->pic (4:2:0, checked by the caller) into
// tightly packed I420 planes and drops the decoder's reference to it.
static void tessera_avdec_copy(tessera_avdec *d, uint8_t *y, uint8_t *u, uint8_t *v) {
	const AVFrame *f = d->pic;
	int w = f->width, h = f->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
	copy_plane(y, w, f->data[0], f->linesize[0], w, h);
	copy_plane(u, cw, f->data[1], f->linesize[1], cw, ch);
	copy_plane(v, cw, f->data[2], f->linesize[2], cw, ch);
	av_frame_unref(d->pic);
}

static int tessera_averror_nomem(int e) { return e == AVERROR(ENOMEM); }
*/
import "C"

import (
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/tessera-mcu/tessera/codec"
)

// MaxDecodePixels is the largest picture (width times height) the decoder
// accepts: 4096x2304. A stream announcing more is rejected as corrupt rather
// than allowed to make the decoder allocate gigabytes. It also bounds the
// time one damaged access unit can take (error concealment of a whole
// picture this size: under 0.1 s).
const MaxDecodePixels = 4096 * 2304

var quietOnce sync.Once

// Decoder is an H.264 decoder (libavcodec). It implements
// codec.VideoDecoder.
type Decoder struct {
	mu   sync.Mutex
	c    *C.tessera_avdec
	pool *codec.FramePool
}

var _ codec.VideoDecoder = (*Decoder)(nil)

// NewDecoder opens a decoder whose pictures come from pool (nil: a pool of
// its own).
//
// libavcodec's logging is switched off for the whole process the first time
// a decoder is made: its per-slice complaints about damaged input are not
// worth a log line each, and damage is reported through Decode's error.
func NewDecoder(pool *codec.FramePool) (*Decoder, error) {
	quietOnce.Do(func() { C.tessera_avdec_quiet() })
	if pool == nil {
		pool = codec.NewFramePool(0)
	}
	var msg [128]C.char
	c := C.tessera_avdec_new(C.int64_t(MaxDecodePixels), &msg[0], C.size_t(len(msg)))
	if c == nil {
		return nil, fmt.Errorf("%w: h264: open decoder: %s", codec.ErrLibrary, C.GoString(&msg[0]))
	}
	return &Decoder{c: c, pool: pool}, nil
}

// Decode decodes one Annex-B access unit. It returns a nil frame and a nil
// error when the data produced no picture, for instance parameter sets
// alone, or slices before the first IDR. Input the decoder cannot decode,
// and pictures it could only partly reconstruct (a lost or truncated slice,
// a missing reference), are reported as codec.ErrCorrupt with no frame:
// the caller keeps showing its last good picture and asks the sender for
// an IDR, after which decoding resumes cleanly.
func (d *Decoder) Decode(data []byte) (*codec.Frame, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		return nil, codec.ErrClosed
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: h264: empty access unit", codec.ErrCorrupt)
	}
	if len(data) > math.MaxInt32-C.AV_INPUT_BUFFER_PADDING_SIZE {
		return nil, fmt.Errorf("%w: h264: access unit of %d bytes", codec.ErrCorrupt, len(data))
	}
	idr := C.int(0)
	if ContainsIDR(data) {
		idr = 1
	}
	rc := C.tessera_avdec_decode(d.c, (*C.uint8_t)(unsafe.Pointer(&data[0])), C.int(len(data)), idr)
	switch {
	case rc == 0:
		return nil, nil
	case rc < 0 && C.tessera_averror_nomem(rc) != 0:
		return nil, fmt.Errorf("%w: h264: decode: %s", codec.ErrLibrary, C.GoString(&d.c.err[0]))
	case rc < 0:
		return nil, fmt.Errorf("%w: h264: decode: %s", codec.ErrCorrupt, C.GoString(&d.c.err[0]))
	}
	pic := d.c.pic
	w, h := int(pic.width), int(pic.height)
	switch {
	case C.tessera_avdec_is_420(pic) == 0:
		format := int(pic.format)
		C.av_frame_unref(pic)
		return nil, fmt.Errorf("%w: h264: unsupported pixel format %d (only 8-bit 4:2:0 is handled)", codec.ErrCorrupt, format)
	case w <= 0 || h <= 0 || w*h > MaxDecodePixels:
		C.av_frame_unref(pic)
		return nil, fmt.Errorf("%w: h264: picture size %dx%d", codec.ErrCorrupt, w, h)
	case C.tessera_avdec_damaged(pic) != 0:
		flags := int(pic.decode_error_flags)
		C.av_frame_unref(pic)
		return nil, fmt.Errorf("%w: h264: picture damaged (decode_error_flags %#x)", codec.ErrCorrupt, flags)
	}
	f := d.pool.Get(w, h)
	C.tessera_avdec_copy(d.c,
		(*C.uint8_t)(unsafe.Pointer(&f.Y[0])),
		(*C.uint8_t)(unsafe.Pointer(&f.U[0])),
		(*C.uint8_t)(unsafe.Pointer(&f.V[0])))
	return f, nil
}

// Close frees the decoder. Later calls return codec.ErrClosed; Close itself
// may be called more than once.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c != nil {
		C.tessera_avdec_free(d.c)
		d.c = nil
	}
	return nil
}

func (d *Decoder) reorderDelay() int { return int(d.c.ctx.has_b_frames) }
