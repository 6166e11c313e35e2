// Package h264 binds the two C libraries Tessera uses for H.264: libx264 for
// encoding and libavcodec (FFmpeg) for decoding.
//
// The encoder is set up for one thing only: real-time constrained baseline
// for WebRTC. It runs x264's ultrafast preset with the zerolatency tune on a
// single thread, never delays a picture, emits Annex-B access units with the
// SPS and PPS in front of every IDR, and holds the bitrate with ABR rate
// control capped by a short VBV buffer. Its sequence parameter sets announce
// profile-level-id 42e01f (constrained baseline, level 3.1) for every size up
// to 1280x720 at 30 fps, which is what Chromium negotiates; larger pictures
// get the smallest level that fits them. IDRs are produced on demand
// (ForceKeyframe) and otherwise only every EncoderConfig.KeyframeInterval
// pictures.
//
// The decoder takes one Annex-B access unit per call and returns at most one
// picture, copied into a codec.Frame from a codec.FramePool. It decodes the
// output of x264, of OpenH264 (what Chromium sends) and of hardware encoders
// alike, including multi-slice pictures and size changes mid-stream.
//
//	enc, err := h264.NewEncoder(h264.EncoderConfig{Width: 640, Height: 360, FPS: 30})
//	...
//	pkt, err := enc.Encode(frame)      // pkt.Data: one access unit, Annex-B
//
//	dec, err := h264.NewDecoder(pool)
//	...
//	pic, err := dec.Decode(pkt.Data)   // pic may be nil: no picture yet
//	if pic != nil {
//		defer pic.Release()
//	}
//
// SplitNALUnits and SplitAccessUnits cut Annex-B byte streams into NAL units
// and access units, for recordings, tests and depacketizers that hand over
// more than one picture at a time.
//
// Encoders and decoders are safe for use by several goroutines, but each is
// meant to be driven by one: ForceKeyframe is the call expected from
// elsewhere (an RTCP handler), and it never blocks.
package h264
