package aac

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
#include <libavutil/samplefmt.h>

typedef struct {
	AVCodecContext *ctx;
	AVFrame *frame;
	AVPacket *pkt;
	char err[128];
} tessera_aacenc;

// tessera_aacenc_quiet lowers libav's log level to errors (it may already
// be lower): the encoder's statistics line at close is not worth a log.
static void tessera_aacenc_quiet(void) {
	if (av_log_get_level() > AV_LOG_ERROR) {
		av_log_set_level(AV_LOG_ERROR);
	}
}

static void tessera_aacenc_free(tessera_aacenc *e) {
	avcodec_free_context(&e->ctx);
	av_frame_free(&e->frame);
	av_packet_free(&e->pkt);
	free(e);
}

// tessera_aacenc_new opens libavcodec's native AAC encoder for AAC-LC at
// rate Hz, channels channels and bitrate bits per second, with one thread
// and the AudioSpecificConfig in extradata. On failure it returns NULL and
// writes the reason into err.
static tessera_aacenc *tessera_aacenc_new(int rate, int channels, int bitrate, char *err, size_t errlen) {
	const AVCodec *codec = avcodec_find_encoder_by_name("aac");
	if (codec == NULL) {
		snprintf(err, errlen, "libavcodec has no native aac encoder");
		return NULL;
	}
	tessera_aacenc *e = calloc(1, sizeof *e);
	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->ctx = avcodec_alloc_context3(codec);
	e->frame = av_frame_alloc();
	e->pkt = av_packet_alloc();
	if (e->ctx == NULL || e->frame == NULL || e->pkt == NULL) {
		tessera_aacenc_free(e);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	AVCodecContext *c = e->ctx;
	c->sample_fmt = AV_SAMPLE_FMT_FLTP;
	c->sample_rate = rate;
	av_channel_layout_default(&c->ch_layout, channels);
	c->bit_rate = bitrate;
	c->profile = FF_PROFILE_AAC_LOW;
	c->time_base = (AVRational){1, rate};
	c->thread_count = 1;
	c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	int ret = avcodec_open2(c, codec, NULL);
	if (ret < 0) {
		av_strerror(ret, err, errlen);
		tessera_aacenc_free(e);
		return NULL;
	}
	e->frame->format = c->sample_fmt;
	e->frame->sample_rate = rate;
	e->frame->nb_samples = c->frame_size;
	ret = av_channel_layout_copy(&e->frame->ch_layout, &c->ch_layout);
	if (ret >= 0) {
		ret = av_frame_get_buffer(e->frame, 0);
	}
	if (ret < 0) {
		av_strerror(ret, err, errlen);
		tessera_aacenc_free(e);
		return NULL;
	}
	return e;
}

// tessera_aacenc_send converts n samples per channel of interleaved int16
// PCM into the encoder's planar float frame and sends it with pts (in
// samples). n may be below the frame size only for the last frame. pcm NULL
// signals the end of the stream. It returns 0 or a negative AVERROR (with
// e->err filled in).
static int tessera_aacenc_send(tessera_aacenc *e, const int16_t *pcm, int n, int64_t pts) {
	e->err[0] = 0;
	int ret;
	if (pcm == NULL) {
		ret = avcodec_send_frame(e->ctx, NULL);
	} else {
		ret = av_frame_make_writable(e->frame);
		if (ret >= 0) {
			int ch = e->ctx->ch_layout.nb_channels;
			for (int c = 0; c < ch; c++) {
				float *dst = (float *)e->frame->extended_data[c];
				for (int i = 0; i < n; i++) {
					dst[i] = pcm[i * ch + c] * (1.0f / 32768.0f);
				}
			}
			e->frame->nb_samples = n;
			e->frame->pts = pts;
			ret = avcodec_send_frame(e->ctx, e->frame);
		}
	}
	if (ret < 0) {
		av_strerror(ret, e->err, sizeof e->err);
	}
	return ret;
}

// tessera_aacenc_receive takes the next packet into e->pkt. It returns 1
// for a packet, 0 when the encoder needs more input or has finished, or a
// negative AVERROR (with e->err filled in).
static int tessera_aacenc_receive(tessera_aacenc *e) {
	av_packet_unref(e->pkt);
	int ret = avcodec_receive_packet(e->ctx, e->pkt);
	if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
		return 0;
	}
	if (ret < 0) {
		av_strerror(ret, e->err, sizeof e->err);
		return ret;
	}
	return 1;
}

static int tessera_aacenc_frame_size(tessera_aacenc *e) { return e->ctx->frame_size; }
static int tessera_aacenc_delay(tessera_aacenc *e) { return e->ctx->initial_padding; }
*/
import "C"

import (
	"bytes"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/tessera-mcu/tessera/codec"
)

// FrameSamples is the number of samples per channel in one AAC-LC frame.
const FrameSamples = 1024

// Defaults and limits of EncoderConfig.
const (
	DefaultSampleRate = 48000
	DefaultBitrate    = 128000 // bits per second, per stream
	// MinBitrate and MaxBitrate bound the target per channel.
	MinBitrate = 16000
	MaxBitrate = 256000
)

// EncoderConfig configures an Encoder. The zero value is 48 kHz mono at
// 128 kbit/s.
type EncoderConfig struct {
	// SampleRate of the PCM, in Hz: one of the AAC sampling frequencies
	// (8000 to 96000). 0 means DefaultSampleRate.
	SampleRate int
	// Channels is 1 (mono) or 2 (interleaved stereo); 0 means 1.
	Channels int
	// Bitrate is the target in bits per second for the whole stream,
	// MinBitrate..MaxBitrate per channel. 0 means DefaultBitrate.
	Bitrate int
}

// Frame is one encoded AAC-LC frame.
type Frame struct {
	// Data is the raw access unit, without an ADTS header. It belongs to
	// the encoder and stays valid until its next Encode, Flush or Close.
	Data []byte
	// PTS is when the frame's decoded samples start to play, on the clock
	// of the pts given to Encode.
	PTS time.Duration
}

// Encoder encodes PCM into AAC-LC frames with libavcodec's native encoder.
type Encoder struct {
	c       *C.tessera_aacenc // nil once closed
	cfg     EncoderConfig
	asc     []byte
	frame   int // samples per channel per frame
	buf     []int16
	fill    int           // samples per channel in buf
	bufPTS  time.Duration // pts of buf[0]
	flushed bool
	out     []byte   // the data of the frames returned by the last call
	packets []packet // where each of them lies in out
	frames  []Frame
}

// packet is one encoded frame gathered in Encoder.out.
type packet struct {
	start, end int
	pts        int64 // in samples
}

var quietOnce sync.Once

// NewEncoder validates cfg and opens an encoder. The first one made lowers
// libav's process-wide log level to errors: failures reach the caller as
// errors, and the encoder's statistics are not worth a log line.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	quietOnce.Do(func() { C.tessera_aacenc_quiet() })
	if cfg.SampleRate == 0 {
		cfg.SampleRate = DefaultSampleRate
	}
	if cfg.Channels == 0 {
		cfg.Channels = 1
	}
	if cfg.Bitrate == 0 {
		cfg.Bitrate = DefaultBitrate
	}
	if _, ok := rateIndex(cfg.SampleRate); !ok {
		return nil, fmt.Errorf("%w: aac: sample rate %d Hz (want an AAC sampling frequency, 8000..96000)", codec.ErrInvalidConfig, cfg.SampleRate)
	}
	if cfg.Channels != 1 && cfg.Channels != 2 {
		return nil, fmt.Errorf("%w: aac: %d channels (want 1 or 2)", codec.ErrInvalidConfig, cfg.Channels)
	}
	if err := codec.CheckBitrate("aac", cfg.Bitrate, MinBitrate*cfg.Channels, MaxBitrate*cfg.Channels); err != nil {
		return nil, err
	}
	var msg [128]C.char
	c := C.tessera_aacenc_new(C.int(cfg.SampleRate), C.int(cfg.Channels), C.int(cfg.Bitrate), &msg[0], C.size_t(len(msg)))
	if c == nil {
		return nil, fmt.Errorf("%w: aac: open encoder: %s", codec.ErrLibrary, C.GoString(&msg[0]))
	}
	e := &Encoder{c: c, cfg: cfg, frame: int(C.tessera_aacenc_frame_size(c))}
	if e.frame != FrameSamples {
		e.Close()
		return nil, fmt.Errorf("%w: aac: encoder frame size %d, want %d", codec.ErrLibrary, e.frame, FrameSamples)
	}
	want, err := AudioSpecificConfig(cfg.SampleRate, cfg.Channels)
	if err != nil {
		e.Close()
		return nil, err
	}
	// libavcodec writes the AudioSpecificConfig it codes with into
	// extradata: the AAC-LC one, followed by an explicit "no SBR"
	// extension (sync 0x2b7), which decoders read as plain AAC-LC.
	got := C.GoBytes(unsafe.Pointer(c.ctx.extradata), c.ctx.extradata_size)
	if !bytes.HasPrefix(got, want) {
		e.Close()
		return nil, fmt.Errorf("%w: aac: encoder's AudioSpecificConfig %x, want %x", codec.ErrLibrary, got, want)
	}
	e.asc = got
	e.buf = make([]int16, e.frame*cfg.Channels)
	return e, nil
}

// Config is the configuration the encoder runs with, defaults filled in.
func (e *Encoder) Config() EncoderConfig { return e.cfg }

// AudioSpecificConfig is the stream's AudioSpecificConfig as libavcodec
// writes it, for the FLV sequence header or the MP4 esds box: the two
// bytes of the package function AudioSpecificConfig, then three that
// signal the absence of SBR. The slice is the encoder's; do not modify it.
func (e *Encoder) AudioSpecificConfig() []byte { return e.asc }

// Delay is the encoder's priming: how much earlier than the input its
// first frame starts.
func (e *Encoder) Delay() time.Duration {
	if e.c == nil {
		return 0
	}
	return e.samplesToDuration(int64(C.tessera_aacenc_delay(e.c)))
}

// AppendADTS appends frame with an ADTS header for this encoder's stream
// to dst (see the package function AppendADTS).
func (e *Encoder) AppendADTS(dst, frame []byte) ([]byte, error) {
	return AppendADTS(dst, e.cfg.SampleRate, e.cfg.Channels, frame)
}

func (e *Encoder) samplesToDuration(n int64) time.Duration {
	return time.Duration(n * int64(time.Second) / int64(e.cfg.SampleRate))
}

func (e *Encoder) durationToSamples(d time.Duration) int64 {
	// Rounded to the nearest sample; d may be negative.
	s := int64(d) * int64(e.cfg.SampleRate)
	half := int64(time.Second) / 2
	if s >= 0 {
		return (s + half) / int64(time.Second)
	}
	return (s - half) / int64(time.Second)
}

// Encode takes interleaved PCM (a whole number of samples per channel,
// any amount) whose first sample plays at pts, and returns the frames it
// completed, oldest first; often none. The encoder looks one frame ahead,
// so what frame k of the output decodes to is input frame k-1 (1024
// samples per channel), and its PTS is the pts that input frame's first
// sample came with; frame 0, the priming one, is Delay earlier than the
// first input. The clock of pts thus carries through, gaps included. Empty input and a sample count that does not
// divide by the channel count are codec.ErrFrameSize. The frames' Data
// stays valid until the next call.
func (e *Encoder) Encode(pcm []int16, pts time.Duration) ([]Frame, error) {
	if err := e.usable(); err != nil {
		return nil, err
	}
	ch := e.cfg.Channels
	if len(pcm) == 0 {
		return nil, fmt.Errorf("%w: aac: empty PCM", codec.ErrFrameSize)
	}
	if len(pcm)%ch != 0 {
		return nil, fmt.Errorf("%w: aac: %d samples do not divide into %d channels", codec.ErrFrameSize, len(pcm), ch)
	}
	e.reset()
	n := len(pcm) / ch
	for i := 0; i < n; {
		if e.fill == 0 {
			e.bufPTS = pts + e.samplesToDuration(int64(i))
		}
		k := min(e.frame-e.fill, n-i)
		copy(e.buf[e.fill*ch:], pcm[i*ch:(i+k)*ch])
		e.fill += k
		i += k
		if e.fill == e.frame {
			if err := e.send(e.fill); err != nil {
				return nil, err
			}
			e.fill = 0
		}
	}
	return e.collect(), nil
}

// Flush encodes what Encode still holds (a last, shorter frame), drains
// the encoder and returns the remaining frames. The stream then ends:
// later calls return codec.ErrClosed.
func (e *Encoder) Flush() ([]Frame, error) {
	if err := e.usable(); err != nil {
		return nil, err
	}
	e.reset()
	if e.fill > 0 {
		if err := e.send(e.fill); err != nil {
			return nil, err
		}
		e.fill = 0
	}
	e.flushed = true
	if rc := C.tessera_aacenc_send(e.c, nil, 0, 0); rc < 0 {
		return nil, fmt.Errorf("%w: aac: flush: %s", codec.ErrLibrary, C.GoString(&e.c.err[0]))
	}
	if err := e.receive(); err != nil {
		return nil, err
	}
	return e.collect(), nil
}

func (e *Encoder) usable() error {
	switch {
	case e.c == nil:
		return fmt.Errorf("aac: %w", codec.ErrClosed)
	case e.flushed:
		return fmt.Errorf("aac: flushed: %w", codec.ErrClosed)
	}
	return nil
}

// reset forgets the frames the previous call returned.
func (e *Encoder) reset() {
	e.out = e.out[:0]
	e.packets = e.packets[:0]
}

// send encodes n samples per channel of buf and gathers the packets that
// come out.
func (e *Encoder) send(n int) error {
	pts := e.durationToSamples(e.bufPTS)
	if rc := C.tessera_aacenc_send(e.c, (*C.int16_t)(unsafe.Pointer(&e.buf[0])), C.int(n), C.int64_t(pts)); rc < 0 {
		return fmt.Errorf("%w: aac: encode: %s", codec.ErrLibrary, C.GoString(&e.c.err[0]))
	}
	return e.receive()
}

func (e *Encoder) receive() error {
	for {
		rc := C.tessera_aacenc_receive(e.c)
		if rc == 0 {
			return nil
		}
		if rc < 0 {
			return fmt.Errorf("%w: aac: encode: %s", codec.ErrLibrary, C.GoString(&e.c.err[0]))
		}
		pkt := e.c.pkt
		start := len(e.out)
		e.out = append(e.out, unsafe.Slice((*byte)(unsafe.Pointer(pkt.data)), int(pkt.size))...)
		e.packets = append(e.packets, packet{start: start, end: len(e.out), pts: int64(pkt.pts)})
	}
}

// collect turns the packets gathered since reset into Frames. Their data
// is sliced only now, as out may have grown while they came in.
func (e *Encoder) collect() []Frame {
	e.frames = e.frames[:0]
	for _, p := range e.packets {
		e.frames = append(e.frames, Frame{
			Data: e.out[p.start:p.end:p.end],
			PTS:  e.samplesToDuration(p.pts),
		})
	}
	return e.frames
}

// Close frees the encoder; it may be called more than once.
func (e *Encoder) Close() error {
	if e.c != nil {
		C.tessera_aacenc_free(e.c)
		e.c = nil
		e.out, e.frames = nil, nil
	}
	return nil
}
