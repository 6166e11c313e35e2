package stream

import (
	"time"

	"github.com/tessera-mcu/tessera/codec/aac"
	"github.com/tessera-mcu/tessera/stream/hls"
)

// hlsAudio is the AAC encoder of an HLS stream, as the muxer asks for it.
type hlsAudio struct{ enc *aac.Encoder }

func (a hlsAudio) Encode(pcm []int16, pts time.Duration) ([]hls.AACFrame, error) {
	fs, err := a.enc.Encode(pcm, pts)
	if err != nil || len(fs) == 0 {
		return nil, err
	}
	out := make([]hls.AACFrame, len(fs))
	for i, f := range fs {
		out[i] = hls.AACFrame{Data: f.Data, PTS: f.PTS}
	}
	return out, nil
}

func (a hlsAudio) Config() []byte { return a.enc.AudioSpecificConfig() }
