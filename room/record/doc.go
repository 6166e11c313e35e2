// Package record writes a composed meeting to a file: the composite video
// and the full audio mix, as encoded for the room's viewers, without
// transcoding. Writers are pure Go and produce three formats:
//
//   - WebM: VP8 video and Opus audio, the Matroska subset browsers play.
//   - Matroska (.mkv): H.264 video (or VP8) and Opus audio.
//   - Ogg Opus (.opus): audio only, per RFC 7845.
//
// FormatFor picks one: WebM for VP8, Matroska for H.264, Ogg Opus when
// there is no video.
//
//	w, err := record.Create("meeting.webm", record.Options{
//		Format: record.WebM,
//		Video:  &record.VideoTrack{Codec: "vp8", Width: 1280, Height: 720},
//		Audio:  &record.AudioTrack{SampleRate: 48000, Channels: 1},
//	})
//	if err != nil {
//		return err
//	}
//	defer w.Close()
//	err = w.WriteVideo(pkt.Data, pkt.Keyframe, pts) // and WriteAudio for every Opus packet
//
// # Matroska and WebM
//
// Matroska is built on EBML (RFC 8794): every element is an ID, a size
// coded as a variable-length integer, and data. The writer lays the file
// out as the EBML header, then a Segment holding a SeekHead, Info (1 ms
// timestamps, MuxingApp and WritingApp "Tessera"), Tracks, Clusters of
// SimpleBlocks and finally Cues. Video is track 1 (V_VP8, or
// V_MPEG4/ISO/AVC with the AVCDecoderConfigurationRecord of ISO/IEC
// 14496-15 as CodecPrivate and frames stored as 4-byte length-prefixed NAL
// units), audio the next (A_OPUS with the OpusHead of RFC 7845 as
// CodecPrivate, CodecDelay equal to the pre-skip and 80 ms SeekPreRoll, as
// the Matroska Opus mapping asks). Every video keyframe opens a Cluster,
// so each Cluster of a file with video starts with a keyframe and gets a
// CuePoint; audio-only Clusters last a second. A Cluster is also cut when
// the 16-bit block timestamp would overflow.
//
// A recording starts on a keyframe: video frames before the first one are
// dropped, and so is audio older than it, so that picture and sound start
// together. The first keyframe's pts becomes time 0 of the file (the first
// packet's, for audio only). An H.264 file's header needs the first keyframe's SPS and
// PPS, so nothing is written until it arrives. Timestamps must not go
// backwards on a track; one that does is moved to 1 ms after its
// predecessor and counted in Stats, and the recording goes on.
//
// # Crash safety
//
// A recording must survive the process being killed. The Segment and each
// Cluster are written with the "unknown size" (an 8-byte size with every
// value bit set), which readers take as "until something else begins", and
// every block goes to the file in a single write as soon as it is handed
// over, so the kernel holds all of it when the process dies. What a clean
// Close adds is convenience: it writes the Cues, then seeks back to fill
// in the Segment and Cluster sizes, the Duration (its place kept by a Void
// element of the same size, as a Duration may not be zero) and the
// SeekHead (a Void reserved at the start, now pointing to Info, Tracks and
// Cues). Each of these steps leaves a valid file, so dying in the middle
// of Close does no harm either. A file that was never closed plays from
// start to finish; it only lacks the index for fast seeking and the
// duration up front.
//
// # Ogg Opus
//
// An Ogg Opus file (RFC 7845 over the Ogg framing of RFC 3533) is a page
// with the OpusHead, a page with the OpusTags, then pages of whole Opus
// packets whose granule positions count 48 kHz samples including the
// pre-skip, each page sealed with its CRC-32 (polynomial 0x04c11db7). A
// page is written as soon as it holds 200 ms of audio, and Close marks the
// last one end-of-stream. Ogg suits audio-only recording because the
// granule position makes every page self-describing: a file cut short by
// a crash reports its true length and needs no repair. Ogg has no
// timestamps, so a gap in the packets' pts (audio lost upstream) is filled
// with silent packets to keep later audio in place.
//
// # Errors
//
// The first failed write (disk full, I/O error) is returned wrapping
// ErrWrite, the file name and the system error, and every later call
// returns it at once; the caller stops the recording and reports it. Close
// still closes the file. Writers are not safe for concurrent use, except
// Stats.
package record
