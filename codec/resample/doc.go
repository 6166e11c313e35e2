// Package resample converts mono 16-bit PCM between a rate and an integer
// fraction of it, in pure Go: Tessera runs its audio at 48 kHz, and the
// telephony codecs sample at 8 kHz (G.711, a factor of 6) or 16 kHz
// (G.722, a factor of 3).
//
// A Down low-pass filters and keeps every factor-th sample; an Up
// interpolates factor samples from each input sample with the polyphase
// branches of the same filter (what inserting factor-1 zeros after each
// sample and filtering would give, at a factor-th of the cost, scaled by
// the factor to make up for the zeros). Both keep their filter history
// from one call to the next, so a stream cut into pieces of any length
// comes out sample for sample as if it had been processed whole.
//
// The filter is a linear-phase FIR of 120 taps at the high rate: a
// Kaiser-windowed sinc whose -6 dB point is the low rate's Nyquist
// frequency (high rate / 2 / factor), with about 1.2 kHz of transition at
// 48 kHz. For a factor of 6 it passes 0..3.4 kHz flat and is more than
// 50 dB down from 4.6 kHz; for a factor of 3, 0..7.4 kHz and from
// 8.6 kHz. Either way, decimation folds nothing audible into the band,
// and the pair delays the signal by 119 samples at the high rate (about
// 2.5 ms at 48 kHz). Results are rounded and saturate at the int16 range
// instead of wrapping.
//
// Downs and Ups are not safe for concurrent use; the filters they share
// are computed once per factor and never change.
package resample
