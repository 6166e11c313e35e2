// Package codec defines the small interfaces Tessera's media pipeline uses to
// encode and decode video, the I420 picture type that flows between
// decoders, the compositor and encoders, and the checks and helpers the
// encoders share (VideoLimits, KeyframeRequest, RealTimeBitrate).
//
// The implementations live in leaf packages. Those that bind a C library
// use cgo; the others are pure Go:
//
//	codec/opus      Opus (libopus, cgo)                 audio encoder and decoder
//	codec/vp8       VP8 (libvpx, cgo)                   video encoder and decoder
//	codec/h264      H.264 (libx264, libavcodec, cgo)    video encoder and decoder
//	codec/yuv       I420 scaling (libyuv, cgo)
//	codec/g711      PCMU / PCMA (pure Go)               audio encoder and decoder, 8 <-> 48 kHz
//	codec/g722      G.722 (libavcodec, cgo)             audio encoder and decoder, 16 <-> 48 kHz
//	codec/resample  integer-factor resampling (pure Go) 48 kHz <-> 8 or 16 kHz, for g711 and g722
//	codec/h264/nal  H.264 byte-stream parsing (pure Go)
//
// An optional capability, forcing a keyframe, is a separate one-method
// interface, discovered by type assertion:
//
//	if kf, ok := enc.(codec.KeyframeForcer); ok {
//		kf.ForceKeyframe()
//	}
//
// Package codec itself has no cgo: a package that imports only codec, for
// the frame type or the interfaces, links no C library. (The mixer links
// libyuv, through codec/yuv, for its scaling.)
package codec
