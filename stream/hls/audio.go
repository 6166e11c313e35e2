package hls

import "time"

// AudioSampleRate is the rate of the PCM the muxer takes and of the AAC it
// carries.
const AudioSampleRate = 48000

// aacFrameSamples is the number of samples in one AAC-LC frame.
const aacFrameSamples = 1024

// AACFrame is one raw AAC access unit (no ADTS header) of 1024 samples.
type AACFrame struct {
	Data []byte
	// PTS is the time of the frame's first sample on the stream's clock
	// (the clock of WriteAudio's pts). Frames an encoder emits for its
	// priming samples carry a negative PTS; the muxer drops them.
	PTS time.Duration
}

// AudioEncoder turns the room's mix into AAC-LC, 48 kHz, mono. The muxer
// calls it from its writer's goroutine only.
type AudioEncoder interface {
	// Encode takes 20 ms of PCM whose first sample is at pts and returns
	// the AAC frames completed so far, in order (often none: a frame holds
	// 1024 samples, a call gives 960). The muxer does not keep pcm and
	// copies what it keeps of the frames' Data.
	Encode(pcm []int16, pts time.Duration) ([]AACFrame, error)
	// Config is the MPEG-4 AudioSpecificConfig of the stream (ISO/IEC
	// 14496-3 1.6.2.1), which goes into the init section.
	Config() []byte
}
