// Package g722 encodes and decodes ITU-T G.722 (wideband, 16 kHz audio at
// 64 kbit/s) with libavcodec's "g722" codec (adpcm_g722), converting to
// and from the 48 kHz Tessera's audio runs at.
//
// # G.722
//
// ITU-T Recommendation G.722 (09/2012), "7 kHz audio-coding within 64
// kbit/s", splits 16 kHz audio with a quadrature mirror filter into a low
// band (0..4 kHz) and a high band (4..8 kHz), each at 8 kHz, and codes
// them with sub-band ADPCM: 6 bits a sample for the low band and 2 for the
// high one, one byte for every two input samples. It carries speech up to
// about 7 kHz, which G.711 (3.4 kHz) cannot. Over RTP it is static payload
// type 9 of RFC 3551, whose RTP clock is 8000 although the audio is
// sampled at 16 kHz (an error in the original RFC 1890 kept for
// compatibility): a 20 ms packet is 160 bytes and 160 clock ticks.
//
// # Rates
//
// Encoder takes 20 ms frames of 48 kHz mono PCM (960 samples), takes them
// down to 16 kHz with package resample (a factor of 3, flat to 7.4 kHz)
// and produces 160 bytes. Decoder turns payloads of any length back into
// 48 kHz PCM, six samples per byte. Every byte sequence is a valid G.722
// stream, so only an empty payload fails to decode.
//
// # Loss
//
// Decoder.Conceal fills a lost packet with the last 20 ms decoded, played
// backwards and faded linearly to silence over the first 20 ms of the
// loss: played backwards it starts on the sample the stream stopped at, so
// the loss begins without a click. Longer losses are silence. The next
// packet is decoded by an ADPCM state that missed the lost ones; G.722's
// adaptation brings it back into step within a few milliseconds.
//
// Encoders and decoders are not safe for concurrent use; each runs
// libavcodec on the calling thread.
package g722
