// Package codec defines the small interfaces Tessera's media pipeline uses to
// encode and decode audio and video, and the I420 picture type that flows
// between decoders, the compositor and encoders.
//
// The interfaces live here; the implementations live in leaf packages that
// bind C libraries through cgo:
//
//	codec/opus   Opus (libopus)          audio encoder and decoder
//	codec/g711   PCMU / PCMA             audio encoder and decoder, 8 <-> 48 kHz
//	codec/vp8    VP8 (libvpx)            video encoder and decoder
//	codec/h264   H.264 (libx264, libavcodec) video encoder and decoder
//	codec/yuv    I420 scaling (libyuv)
//
// An optional capability, forcing a keyframe, is a separate one-method
// interface, discovered by type assertion:
//
//	if kf, ok := enc.(codec.KeyframeForcer); ok {
//		kf.ForceKeyframe()
//	}
//
// Package codec itself has no cgo so that packages such as mixer can use the
// frame type without linking any codec library.
package codec
