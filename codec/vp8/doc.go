// Package vp8 encodes and decodes VP8 video (RFC 6386) with libvpx, tuned for
// real-time use in an MCU: one thread per encoder or decoder, no frame lag,
// constant bitrate, error-resilient bitstreams, keyframes on demand.
//
// Encoder implements codec.VideoEncoder and codec.KeyframeForcer, and its
// SetBitrate changes the target while it runs; Decoder implements
// codec.VideoDecoder.
//
//	enc, err := vp8.NewEncoder(vp8.EncoderConfig{Width: 640, Height: 360, FPS: 30})
//	if err != nil {
//		return err
//	}
//	defer enc.Close()
//	pkt, err := enc.Encode(frame) // pkt.Data is valid until the next Encode
//
// # Memory
//
// libvpx state, the encoder's source picture and the decoder's input buffer
// live in C memory. Go memory is handed to C only for the duration of a
// call (pixels to copy in or out, nothing else), so libvpx never holds a Go
// pointer. Encoded packets and decoded pictures are copied into Go memory
// that the encoder reuses and the decoder takes from a codec.FramePool, so
// a steady stream allocates nothing per frame.
//
// Encoder and Decoder methods are safe for concurrent use, though a stream
// is normally driven from a single goroutine; ForceKeyframe never blocks.
package vp8
