package codec

// AudioEncoder encodes one frame of interleaved 16-bit PCM at a time.
type AudioEncoder interface {
	// Encode encodes pcm (exactly one frame: FrameSamples()*Channels()
	// samples) into dst and returns the number of bytes written.
	Encode(pcm []int16, dst []byte) (int, error)
	// SampleRate is the PCM rate the encoder takes, in Hz.
	SampleRate() int
	// Channels is 1 or 2.
	Channels() int
	// FrameSamples is the number of samples per channel in one frame.
	FrameSamples() int
	Close() error
}

// AudioDecoder decodes one encoded audio frame at a time into interleaved
// 16-bit PCM.
type AudioDecoder interface {
	// Decode decodes payload into pcm and returns the number of samples per
	// channel written. pcm must be long enough for the longest packet the
	// codec allows (each adapter exports its MaxFrameSamples) times Channels.
	Decode(payload []byte, pcm []int16) (int, error)
	SampleRate() int
	Channels() int
	Close() error
}

// LossConcealer is an AudioDecoder that can synthesise a frame for a packet
// that never arrived (packet loss concealment).
type LossConcealer interface {
	// Conceal writes samples (per channel) of concealment audio into pcm.
	Conceal(pcm []int16, samples int) (int, error)
}

// FECRecoverer is an AudioDecoder that can rebuild a lost frame from the
// forward error correction data carried in the packet that follows it.
type FECRecoverer interface {
	// RecoverFEC decodes the redundant copy of the previous frame carried in
	// next and writes samples (per channel) into pcm.
	RecoverFEC(next []byte, pcm []int16, samples int) (int, error)
}

// VideoPacket is one encoded video frame (an access unit for H.264, a frame
// for VP8). Data belongs to the encoder and is valid until the next call to
// Encode.
type VideoPacket struct {
	Data     []byte
	Keyframe bool
}

// VideoEncoder encodes I420 pictures of the size it was created with.
type VideoEncoder interface {
	// Encode encodes f. An empty packet means the encoder produced no output
	// for this picture (rate control dropped it).
	Encode(f *Frame) (VideoPacket, error)
	Close() error
}

// VideoDecoder decodes encoded video frames into pictures.
type VideoDecoder interface {
	// Decode decodes one encoded frame. It returns a nil frame and a nil
	// error when the data produced no picture (yet). A returned frame is
	// owned by the caller, who must Release it.
	Decode(data []byte) (*Frame, error)
	Close() error
}

// KeyframeForcer is a VideoEncoder that can make its next frame a keyframe
// (an IDR for H.264).
type KeyframeForcer interface {
	ForceKeyframe()
}

// BitrateSetter is an encoder whose target bitrate can change while it runs.
type BitrateSetter interface {
	// SetBitrate sets the target in bits per second.
	SetBitrate(bps int) error
}
