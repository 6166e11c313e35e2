package g722

/*
#cgo pkg-config: libavcodec libavutil
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>

typedef struct {
	AVCodecContext *ctx;
	AVFrame *frame;
	AVPacket *pkt;
	uint8_t *in;   // padded copy of the payload being decoded
	int in_cap;
	char err[128];
} tessera_g722;

// tessera_g722_quiet lowers libav's log level to errors (it may already
// be lower).
static void tessera_g722_quiet(void) {
	if (av_log_get_level() > AV_LOG_ERROR) {
		av_log_set_level(AV_LOG_ERROR);
	}
}

static void tessera_g722_free(tessera_g722 *c) {
	avcodec_free_context(&c->ctx);
	av_frame_free(&c->frame);
	av_packet_free(&c->pkt);
	av_free(c->in);
	free(c);
}

// tessera_g722_new opens libavcodec's G.722 encoder (encode 1) or decoder
// (encode 0) for 16 kHz mono signed 16-bit audio, 64 kbit/s, one thread;
// the encoder takes frames of frame_size samples. On failure it returns
// NULL and writes the reason into err.
static tessera_g722 *tessera_g722_new(int encode, int frame_size, char *err, size_t errlen) {
	const AVCodec *codec = encode ? avcodec_find_encoder(AV_CODEC_ID_ADPCM_G722)
	                              : avcodec_find_decoder(AV_CODEC_ID_ADPCM_G722);
	if (codec == NULL) {
		snprintf(err, errlen, "libavcodec has no G.722 %s", encode ? "encoder" : "decoder");
		return NULL;
	}
	tessera_g722 *c = calloc(1, sizeof *c);
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->ctx = avcodec_alloc_context3(codec);
	c->frame = av_frame_alloc();
	c->pkt = av_packet_alloc();
	if (c->ctx == NULL || c->frame == NULL || c->pkt == NULL) {
		tessera_g722_free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	AVCodecContext *x = c->ctx;
	x->sample_rate = 16000;
	av_channel_layout_default(&x->ch_layout, 1);
	x->thread_count = 1;
	x->bits_per_coded_sample = 8; // 64 kbit/s
	if (encode) {
		x->sample_fmt = AV_SAMPLE_FMT_S16;
		x->frame_size = frame_size;
		x->bit_rate = 64000;
		x->time_base = (AVRational){1, 16000};
	}
	int ret = avcodec_open2(x, codec, NULL);
	if (ret < 0) {
		av_strerror(ret, err, errlen);
		tessera_g722_free(c);
		return NULL;
	}
	if (encode) {
		c->frame->format = x->sample_fmt;
		c->frame->sample_rate = x->sample_rate;
		c->frame->nb_samples = frame_size;
		ret = av_channel_layout_copy(&c->frame->ch_layout, &x->ch_layout);
		if (ret >= 0) {
			ret = av_frame_get_buffer(c->frame, 0);
		}
		if (ret < 0) {
			av_strerror(ret, err, errlen);
			tessera_g722_free(c);
			return NULL;
		}
	}
	return c;
}

// tessera_g722_encode encodes one frame of the encoder's frame size into
// out (cap bytes). It returns the bytes written or a negative AVERROR
// (with c->err filled in).
static int tessera_g722_encode(tessera_g722 *c, const int16_t *pcm, uint8_t *out, int cap) {
	c->err[0] = 0;
	int ret = av_frame_make_writable(c->frame);
	if (ret >= 0) {
		memcpy(c->frame->data[0], pcm, c->frame->nb_samples * sizeof *pcm);
		ret = avcodec_send_frame(c->ctx, c->frame);
	}
	if (ret >= 0) {
		av_packet_unref(c->pkt);
		ret = avcodec_receive_packet(c->ctx, c->pkt);
	}
	if (ret >= 0 && c->pkt->size > cap) {
		ret = AVERROR(ENOSPC);
	}
	if (ret < 0) {
		av_strerror(ret, c->err, sizeof c->err);
		return ret;
	}
	memcpy(out, c->pkt->data, c->pkt->size);
	return c->pkt->size;
}

// tessera_g722_decode decodes n (> 0) bytes of G.722 into out (cap
// samples at 16 kHz). It returns the samples written or a negative
// AVERROR (with c->err filled in).
static int tessera_g722_decode(tessera_g722 *c, const uint8_t *in, int n, int16_t *out, int cap) {
	c->err[0] = 0;
	if (n + AV_INPUT_BUFFER_PADDING_SIZE > c->in_cap) {
		av_freep(&c->in);
		c->in_cap = 0;
		c->in = av_malloc(n + AV_INPUT_BUFFER_PADDING_SIZE);
		if (c->in == NULL) {
			snprintf(c->err, sizeof c->err, "out of memory");
			return AVERROR(ENOMEM);
		}
		c->in_cap = n + AV_INPUT_BUFFER_PADDING_SIZE;
	}
	memcpy(c->in, in, n);
	memset(c->in + n, 0, AV_INPUT_BUFFER_PADDING_SIZE);
	av_packet_unref(c->pkt);
	c->pkt->data = c->in;
	c->pkt->size = n;
	int ret = avcodec_send_packet(c->ctx, c->pkt);
	c->pkt->data = NULL;
	c->pkt->size = 0;
	int got = 0;
	while (ret >= 0) {
		ret = avcodec_receive_frame(c->ctx, c->frame);
		if (ret == AVERROR(EAGAIN)) {
			return got;
		}
		if (ret < 0) {
			break;
		}
		int m = c->frame->nb_samples;
		if (got + m > cap) {
			av_frame_unref(c->frame);
			ret = AVERROR(ENOSPC);
			break;
		}
		memcpy(out + got, c->frame->data[0], m * sizeof *out);
		got += m;
		av_frame_unref(c->frame);
	}
	av_strerror(ret, c->err, sizeof c->err);
	return ret;
}
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/tessera-mcu/tessera/codec"
)

var quietOnce sync.Once

// lib is one open libavcodec G.722 encoder or decoder.
type lib struct{ c *C.tessera_g722 }

func open(encode bool, frameSize int) (lib, error) {
	quietOnce.Do(func() { C.tessera_g722_quiet() })
	var msg [128]C.char
	enc := C.int(0)
	if encode {
		enc = 1
	}
	c := C.tessera_g722_new(enc, C.int(frameSize), &msg[0], C.size_t(len(msg)))
	if c == nil {
		return lib{}, fmt.Errorf("%w: g722: open: %s", codec.ErrLibrary, C.GoString(&msg[0]))
	}
	return lib{c}, nil
}

// encode encodes one frame of narrow (16 kHz) samples into out.
func (l lib) encode(narrow []int16, out []byte) (int, error) {
	n := C.tessera_g722_encode(l.c, (*C.int16_t)(unsafe.Pointer(&narrow[0])),
		(*C.uint8_t)(unsafe.Pointer(&out[0])), C.int(len(out)))
	if n < 0 {
		return 0, fmt.Errorf("%w: g722 encode: %s", codec.ErrLibrary, C.GoString(&l.c.err[0]))
	}
	return int(n), nil
}

// decode decodes payload (not empty) into narrow (16 kHz) samples.
func (l lib) decode(payload []byte, narrow []int16) (int, error) {
	n := C.tessera_g722_decode(l.c, (*C.uint8_t)(unsafe.Pointer(&payload[0])), C.int(len(payload)),
		(*C.int16_t)(unsafe.Pointer(&narrow[0])), C.int(len(narrow)))
	if n < 0 {
		return 0, fmt.Errorf("%w: g722 decode: %s", codec.ErrCorrupt, C.GoString(&l.c.err[0]))
	}
	return int(n), nil
}

func (l lib) close() {
	if l.c != nil {
		C.tessera_g722_free(l.c)
	}
}
