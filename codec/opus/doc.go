// Package opus encodes and decodes Opus audio (RFC 6716) with libopus.
// Encoder is a codec.KeyframeForcer (a frame coded without inter-frame
// prediction, for listeners switching streams) whose bitrate can change
// while it runs; Decoder also conceals lost frames and recovers them from
// in-band FEC. The decoder goes through gopkg.in/hraban/opus.v2; the
// encoder binds libopus directly, for a control that binding lacks.
//
// Build with the tag nolibopusfile. The binding otherwise also compiles its
// Ogg stream reader, which links libopusfile; Tessera only needs the raw
// codec from libopus (Debian: libopus-dev).
//
// # Frames and buffers
//
// PCM is interleaved int16. An Encoder takes exactly one frame per call
// (FrameSamples()*Channels() samples) and writes one Opus packet (RFC 6716).
// MaxPacketBytes is always enough room for it. A Decoder accepts any valid
// packet, whose duration can be anything from 2.5 ms to 120 ms, so give it a
// pcm buffer of MaxFrameSamples*Channels() samples (scaled down for a decoder
// running below 48 kHz if you want to save memory).
//
// # Loss, FEC and DTX
//
// When a packet is missing but the one after it has arrived, call RecoverFEC
// with that next packet to rebuild the missing frame from the low-bitrate
// copy the encoder embedded in it (only when the sender encodes with
// in-band FEC, and only in the SILK and hybrid modes; otherwise libopus
// conceals instead), then Decode the next packet as usual. When nothing
// newer is available, call Conceal.
//
// With DTX (discontinuous transmission) on, libopus 1.3 keeps coding
// silence or steady background noise normally for about 200 ms, then
// returns one-byte packets (a TOC byte and no frame data) except for a
// comfort noise update every 400 ms. WebRTC senders transmit only the
// first of a run of such tiny packets (so the receiver learns that DTX has
// begun) and the updates, so over RTP the pause shows as a jump in
// timestamp without a gap in sequence numbers. The tiny packets are valid
// Opus, and Decode turns them into the comfort noise they stand for. For the frames that were never sent a receiver has
// two sound choices:
//
//   - call Conceal for each of them. After comfort noise libopus's
//     concealment goes on producing the same low-level noise, which is what
//     the sender intended and resumes most smoothly;
//   - or treat the input as silent and skip decoding altogether, which costs
//     nothing and suits a mixer that leaves silent inputs out of the bus.
//     The next packet that arrives decodes normally.
//
// A gap that also skips sequence numbers is real loss and should be
// concealed (or recovered with FEC), not silenced.
//
// Encoders and decoders are not safe for concurrent use.
package opus
