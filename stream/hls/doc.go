// Package hls serves a room's composed meeting as HTTP Live Streaming
// (RFC 8216 and its low-latency extension): fMP4 (CMAF) segments of about
// two seconds cut at keyframes, each made of partial segments of about
// 200 ms, listed in a sliding-window media playlist with
// EXT-X-PROGRAM-DATE-TIME and blocking playlist reload (_HLS_msn,
// _HLS_part). Its tests play it with hls.js (low-latency mode, in
// Chromium) and read it with FFmpeg's HLS demuxer, which ignores the part
// tags and loads whole segments as any player without low-latency support
// does. Blocking requests for a preload hint (EXT-X-PRELOAD-HINT) and
// playlist delta updates (_HLS_skip) are not offered; players then fetch
// each part once the playlist lists it.
//
// A Muxer takes the room's stream (H.264 access units in Annex B with the
// SPS and PPS before every keyframe, and 20 ms blocks of 48 kHz mono PCM
// that an injected AudioEncoder turns into AAC-LC) and keeps the init
// section, the last Window segments and a couple more in memory; nothing
// is written to disk. Parameter sets stay in the samples as well as in
// the init section.
//
// A Handler serves every room's stream under one prefix:
//
//	GET {prefix}/{room}/index.m3u8          media playlist (no-cache)
//	GET {prefix}/{room}/{id}-init.mp4       init section (immutable)
//	GET {prefix}/{room}/{id}-{msn}.m4s      segment (immutable)
//	GET {prefix}/{room}/{id}-{msn}.{n}.m4s  partial segment (immutable)
//
// where {id} names one run of the stream, so a cache never mixes two
// runs. The first playlist request of a room asks the Source to start the
// room's stream and waits, bounded, for its first segment; when nothing of
// the room has been fetched for the idle timeout the handler stops it
// again, so a room spends nothing on HLS while nobody watches. An
// Authorize function checks every request; query parameters of the
// playlist request (a viewer token, say) are carried into every URI the
// playlist lists.
//
//	h, err := hls.NewHandler(src, hls.WithAuthorize(check))
//	...
//	mux.Handle("/hls/", h)
//	defer h.Close()
package hls
