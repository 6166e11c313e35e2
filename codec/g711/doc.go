// Package g711 implements the ITU-T G.711 telephony codec, PCMU (µ-law)
// and PCMA (A-law), in pure Go, with the 48 kHz <-> 8 kHz resampling that
// lets the rest of Tessera run at 48 kHz.
//
// # G.711
//
// ITU-T Recommendation G.711 (11/1988), "Pulse code modulation (PCM) of
// voice frequencies", codes each sample of 8 kHz telephone audio in one
// byte using a logarithmic companding law: eight segments (chords) whose
// step size doubles from one to the next, 16 uniform steps inside each,
// plus a sign bit. The µ-law, used in North America and Japan, works on a
// 14-bit linear range and biases the magnitude by 33 so the segment
// boundaries fall on powers of two; every code bit is inverted on the line.
// The A-law, used elsewhere, works on a 13-bit range, has a linear first
// segment twice as wide as the others, and inverts every other bit (XOR
// 0x55) on the line. µ-law has two codes for zero (0xFF and 0x7F), A-law
// none (the smallest magnitudes are ±8 in 16-bit terms). Decoders output
// the middle of each quantisation interval. Over RTP they are the static
// payload types 0 (PCMU) and 8 (PCMA) of RFC 3551.
//
// EncodeULaw, DecodeULaw, EncodeALaw and DecodeALaw convert single 16-bit
// linear samples (the top 14 or 13 bits are used).
//
// # Rates
//
// Encoder takes 20 ms frames of 48 kHz mono PCM (960 samples) and produces
// 160 bytes; Decoder turns G.711 payloads back into 48 kHz PCM, six
// samples per byte. The conversion is package resample's, by a factor of
// six: an anti-alias low-pass FIR that keeps every sixth sample, and its
// polyphase interpolation back. Both keep their filter state from one call
// to the next, so a stream cut into frames comes out as if it had been
// processed in one piece. The pair passes 0..3.4 kHz flat, removes
// everything above 4.6 kHz before decimation so nothing aliases into the
// voice band, and delays the signal by about 2.5 ms.
//
// # Loss
//
// Decoder.Conceal fills a lost frame by repeating the last pitch period of
// the audio decoded before it, at full level for 10 ms and then fading to
// silence by 60 ms; the first packet after a loss is cross-faded in over
// 4 ms. This follows the idea of G.711 Appendix I (waveform substitution)
// in a much simpler form.
//
// Encoders and decoders are not safe for concurrent use.
package g711
