// Package rtmp pushes a room's live output to an RTMP or RTMPS ingest
// (nginx-rtmp, YouTube, Twitch, any server that takes OBS's stream): the
// composed picture as H.264 and the full mix as AAC-LC, muxed as FLV over
// RTMP with github.com/bluenviron/gortmplib.
//
// A Pusher implements the room's StreamSink. The room's stream goroutine
// calls WriteVideo with Annex-B access units (SPS and PPS in front of each
// keyframe) and WriteAudio with 48 kHz mono PCM; both copy and queue, and
// never block. The Pusher's own goroutine encodes the PCM to AAC
// (codec/aac), rewrites the access units to the length-prefixed form FLV
// carries, and sends both with the pts they came with, so timestamps keep
// rising across reconnects.
//
//	p, err := rtmp.New("rtmp://127.0.0.1/live/streamkey", rtmp.Options{
//		RequestKeyframe: enc.ForceKeyframe,
//		OnState:         func(c rtmp.StateChange) { ... },
//	})
//	...
//	p.WriteVideo(au, keyframe, pts)
//	p.WriteAudio(pcm, pts)
//	...
//	p.Close()
//
// # Connections
//
// The stream key is the last segment of the URL's path, the rest is the
// RTMP application, as ingest services write them
// (rtmp://host/app/streamkey). Every connection publishes from a keyframe:
// after connecting, the Pusher calls Options.RequestKeyframe and discards
// media until a keyframe arrives, then sends the stream metadata, the AVC
// sequence header built from that keyframe's SPS and PPS and the AAC one,
// and the keyframe. Changed parameter sets on a later keyframe are
// announced again. Audio older than the connection's first keyframe is not
// sent.
//
// When a connection attempt fails or a connection is lost (a write error
// or timeout, or the server closing it), the Pusher reports
// StateReconnecting with the error and tries again after a backoff that
// starts at Options.MinBackoff (1 s) and doubles up to Options.MaxBackoff
// (30 s); a connection that streamed for ten seconds resets it. It never
// gives up on its own: Write* return an error only after Close.
//
// # Queue and drops
//
// Write* put frames into one bounded queue (Options.QueueSize) shared by
// audio and video, which keeps them in the order the room wrote them.
// When it is full the frame is dropped and counted in Stats.Dropped;
// after a dropped video frame every video frame up to the next keyframe is
// dropped too (a decoder could not use them) and a keyframe is requested.
// While no connection is up the Pusher's goroutine discards what arrives
// (Stats.Skipped), so the queue never holds stale media for the next
// connection.
//
// After publish, what the server sends (acknowledgements, pings, status)
// is read and ignored; ingest servers judge a publisher by the media it
// sends.
package rtmp
