// Package mixer is Tessera's pure compute: the audio bus with talker
// detection, per-listener mix-minus and a soft limiter, and the video
// compositor that lays participants' pictures out on one canvas. It imports
// neither pion nor net, so it can be tested and benchmarked on its own.
//
// The compositor arranges tiles in a grid or around one large tile (the
// active speaker, or a pinned presenter), scales each picture into its tile
// with libyuv keeping its aspect ratio, labels tiles with names, and shows
// a placeholder with initials for participants without video. SpeakerHold
// keeps the large tile from jumping between talkers.
package mixer
