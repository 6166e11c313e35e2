package codec

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

// KeyframeForcer is an encoder that can make its next frame a keyframe (an
// IDR for H.264; for Opus, a frame coded without inter-frame prediction).
type KeyframeForcer interface {
	ForceKeyframe()
}
