// Package stream connects rooms to their live outputs: an RTMP or RTMPS
// push of a room's composite and full mix (Pushes, package stream/rtmp),
// and HLS playlists made while someone watches (HLSSource, package
// stream/hls), both fed through room streams (room.StartStream), which
// share a live H.264 encoder and never slow the room's tick.
package stream
