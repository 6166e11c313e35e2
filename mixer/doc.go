// Package mixer is Tessera's pure compute: the audio bus with talker
// detection, per-listener mix-minus and a soft limiter, and the video
// compositor that lays participants' pictures out on one canvas. It imports
// neither pion nor net, so it can be tested and benchmarked on its own.
package mixer
