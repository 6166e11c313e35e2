// Package hls serves a room's composed meeting as HTTP Live Streaming
// (RFC 8216 and its low-latency extension): fMP4 (CMAF) segments of about
// two seconds cut at keyframes, each made of partial segments of about
// 200 ms, listed in a sliding-window media playlist with blocking
// playlist reload (_HLS_msn, _HLS_part) and a part preload hint
// (EXT-X-PRELOAD-HINT: a request for the hinted part waits until the
// part is made). Its tests play it with hls.js (low-latency mode, in
// Chromium; about 1.1 s behind the live edge) and read it with FFmpeg's
// HLS demuxer, which ignores the part tags and loads whole segments as
// any player without low-latency support does. Playlist delta updates
// (_HLS_skip) are not offered.
//
// Three choices keep hls.js (1.7) playing, each covered by a test: media
// sequence numbers start at 1 (hls.js takes parts of segment 0 for
// evicted and reloads them without end); each part's audio reaches the
// end of its video (a part waits up to 200 ms for the AAC encoder, since
// a muxed buffer holds only what both tracks cover); and
// EXT-X-PROGRAM-DATE-TIME is left out unless Config.ProgramDateTime asks
// for it (hls.js's alignment of successive playlists by it shifted
// completed segments two seconds back and stalled playback).
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
