// Package aac encodes AAC-LC (ISO/IEC 14496-3) with libavcodec's native
// "aac" encoder, for the outputs whose receivers do not take Opus: RTMP
// ingests (FLV), HLS over MPEG-TS and fragmented MP4.
//
// An Encoder takes interleaved signed 16-bit PCM in chunks of any size (the
// room hands over 20 ms at a time) and returns the AAC frames completed so
// far: raw access units of FrameSamples (1024) samples per channel, without
// ADTS headers, each with its presentation time. The encoder looks ahead by
// one frame: the first frame it returns decodes to the encoder's priming
// silence and starts 1024 samples before the first input sample, and each
// later one decodes to the input frame before it. Flush ends the stream and
// returns what is still held.
//
// Containers describe the stream with AudioSpecificConfig (the FLV
// sequence header, the MP4 esds box); an MPEG-TS stream instead carries an
// ADTS header in front of every frame, which AppendADTS writes.
//
//	enc, err := aac.NewEncoder(aac.EncoderConfig{}) // 48 kHz mono, 128 kbit/s
//	...
//	frames, err := enc.Encode(pcm, pts) // frames[i].Data valid until the next call
//
// An Encoder is not safe for concurrent use; it runs libavcodec on the
// calling thread, with one thread.
package aac
