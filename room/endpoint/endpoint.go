// Package endpoint is the contract between a room and the connections
// that carry its participants' media: a WebRTC peer (package rtc) is one
// kind; any other transport (plain RTP, an ingest protocol, a test
// endpoint) plugs in the same way. A connection hands the room its
// incoming tracks as RTP (RTPReader), receives the participant's mix and
// composite as encoded frames (FrameWriter), and reports through a Link:
// keyframe requests, its state, the receiver's losses. The room reaches
// the connection only through Connection and SenderFeedback.
//
// The package has no dependencies beyond pion's RTP packet type, so both
// the room and every kind of connection import it, and neither imports
// the other.
package endpoint

import (
	"errors"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// Codec names of the composite and of cameras.
const (
	CodecVP8  = "vp8"
	CodecH264 = "h264"
)

// Codec names of a participant's microphone and of the mix it receives.
const (
	// CodecOpus: 48 kHz mono, RTP clock 48000 (what WebRTC peers use).
	CodecOpus = "opus"
	// CodecPCMU: G.711 µ-law, 8 kHz, RTP clock 8000 (static payload
	// type 0).
	CodecPCMU = "pcmu"
	// CodecPCMA: G.711 A-law, 8 kHz, RTP clock 8000 (static payload
	// type 8).
	CodecPCMA = "pcma"
	// CodecG722: G.722, 16 kHz audio at 64 kbit/s, RTP clock 8000 (static
	// payload type 9; RFC 3551 keeps the clock of G.711 although G.722
	// samples at 16 kHz).
	CodecG722 = "g722"
)

// Connection is a participant's media connection as the room sees it.
type Connection interface {
	// TargetBitrate is the bandwidth estimate towards the participant,
	// in bits per second (0: none), which picks its composite tier.
	TargetBitrate() int
	// Close ends the connection. The room calls it once, off its own
	// goroutine.
	Close() error
}

// RTPReader is one incoming track of a connection. ReadRTP blocks for
// the next packet; an error ends the track.
type RTPReader interface {
	ReadRTP() (*rtp.Packet, error)
}

// SenderFeedback is how the room talks back to the sender of a camera.
type SenderFeedback interface {
	// RequestKeyframe asks for a keyframe (RTCP PLI).
	RequestKeyframe() error
	// LimitBitrate asks the sender to stay under bps (RTCP REMB), which
	// makes a browser lower its resolution.
	LimitBitrate(bps uint64) error
}

// Frame is one encoded frame on its way to a participant: 20 ms of its
// mix, or a picture of the composite.
type Frame struct {
	Data     []byte
	Duration time.Duration
	// Skipped is how many frames right before this one were not sent
	// (dropped for a full queue, or withheld): the connection keeps its
	// RTP time and sequence in step with the room's clock.
	Skipped uint16
	// Codec is the audio codec Data is in (empty: the codec the
	// connection attached with). Once a connection has changed its mix's
	// codec (Link.MixCodec), frames of the old codec may still be on
	// their way; the connection drops those.
	Codec string
	// Packets, for a picture of the composite, is Data already cut into
	// RTP payloads of at most PacketPayload bytes in the WebRTC
	// packetization (H.264 packetization-mode 1, VP8 with picture IDs):
	// cut once per picture and shared, read-only, by every viewer of the
	// output, whose connection only numbers and stamps them. A
	// connection that packetizes otherwise ignores it; nil for audio.
	Packets [][]byte
}

// PacketPayload bounds the payloads in Frame.Packets: 1200-byte RTP
// packets less their fixed header (header extensions come on top).
const PacketPayload = 1188

// NewPayloader returns the packetizer that makes Frame.Packets for a
// composite codec (CodecH264 or CodecVP8). It keeps state from picture
// to picture (VP8 picture IDs, H.264 parameter sets held for the next
// NAL unit's STAP-A): one per stream.
func NewPayloader(codecName string) rtp.Payloader {
	if codecName == CodecH264 {
		return &codecs.H264Payloader{}
	}
	return &codecs.VP8Payloader{EnablePictureID: true}
}

// FrameWriter sends a participant's outgoing audio or video. The room
// calls it from one goroutine per stream, through a bounded queue.
type FrameWriter interface {
	WriteFrame(Frame) error
}

// ConnState is what a connection reports of itself.
type ConnState int

// Connection states.
const (
	// ConnUp: media flows (for WebRTC, ICE and DTLS are up).
	ConnUp ConnState = iota + 1
	// ConnFailed: the connection failed (ICE failed, a timeout).
	ConnFailed
	// ConnClosed: the connection was closed.
	ConnClosed
)

// Link is how a connection reaches the room and participant it serves
// now: a participant that changes rooms takes its connection, and so its
// Link, along. Its methods may be called from any goroutine.
type Link interface {
	// RequestKeyframe passes on the participant's request for a keyframe
	// of its composite (RTCP PLI or FIR).
	RequestKeyframe()
	// State reports the connection's state.
	State(conn Connection, s ConnState)
	// ReadAudio reads the participant's microphone (Opus) from src into
	// the room until the track ends; it blocks, so call it on the track's
	// own goroutine. levelExt is the RFC 6464 audio level header
	// extension's ID (0: none).
	ReadAudio(conn Connection, src RTPReader, levelExt uint8)
	// ReadAudioCodec is ReadAudio for a microphone in codec (CodecOpus,
	// CodecPCMU, CodecPCMA or CodecG722), whose RTP timestamps run at
	// that codec's clock; src gives only that codec's packets (no
	// telephone-events or comfort noise). An unknown codec ends the call
	// at once. A second call (the microphone changed codec, or came
	// back) replaces the microphone: the room drops what it buffered and
	// decodes with a fresh decoder; the first call's src should end.
	ReadAudioCodec(conn Connection, src RTPReader, codec string)
	// MixCodec changes the codec of the mix the room writes to the
	// connection's Audio (see Media.AudioCodec), from the room's next
	// tick on; each Frame names its codec. An unknown codec is an error
	// and nothing changes.
	MixCodec(conn Connection, codec string) error
	// ReadVideo reads the participant's camera (codec CodecVP8 or
	// CodecH264) from src into the room until the track ends; it blocks.
	ReadVideo(conn Connection, src RTPReader, codec string, fb SenderFeedback)
	// ReadVideoLayer is ReadVideo for one layer of a simulcast camera
	// (RFC 8853): rid is the layer's RTP stream ID (RFC 8852) and fb
	// talks to that layer's stream. The layers of one camera each call it
	// on their own goroutine; the room decodes one of them at a time.
	ReadVideoLayer(conn Connection, src RTPReader, codec, rid string, fb SenderFeedback)
	// ReportLost gives the receiver's cumulative count of packets lost
	// of the audio (video false) or video the room sends it (from its
	// RTCP receiver reports).
	ReportLost(video bool, cumulative uint32)
}

// Media is what a connection brings to a participant: where its mix and
// composite go (nil: not wanted), the codec of the composite, whether it
// sends anything (a watch-only screen gets no tile), its Link (made by
// the room before the connection is set up) and its kind.
type Media struct {
	Audio, Video FrameWriter
	// AudioCodec is the codec of the mix written to Audio: CodecOpus
	// (empty means Opus too), CodecPCMU, CodecPCMA or CodecG722 (a
	// connection may change it later, Link.MixCodec). Each Frame is one
	// RTP payload of 20 ms (for G.711 and G.722, 160 bytes).
	AudioCodec string
	// VideoCodec is the codec of the composite written to Video
	// (CodecVP8 or CodecH264). Each Frame is one encoded picture: a VP8
	// frame, or an H.264 access unit in Annex B (start codes before each
	// NAL unit), as WebRTC's sample tracks take them.
	VideoCodec string
	// MaxPictureSize is the largest picture, in pixels (width*height),
	// the receiver of Video decodes: 0 means no limit. The room sends it
	// the best tier that fits; if none does, Attach fails with an error
	// wrapping ErrNoComposite (the connection may attach again without
	// Video).
	MaxPictureSize int
	Sends          bool
	Link           Link
	// Kind names the kind of connection (KindWebRTC, ...): participants
	// are counted by it. Empty counts as "other".
	Kind string
}

// Kinds of connection.
const (
	// KindWebRTC is a WebRTC peer connection.
	KindWebRTC = "webrtc"
	// KindRTP is a plain RTP/AVP (or SAVP) connection, e.g. a SIP call.
	KindRTP = "rtp"
)

// Errors of setting up a connection, shared by the room and every kind
// of connection (the signalling maps them to protocol errors).
var (
	ErrInvalidSDP        = errors.New("invalid session description")
	ErrNoMedia           = errors.New("offer has no media the room can use")
	ErrAnswer            = errors.New("cannot answer the offer")
	ErrInvalidCandidate  = errors.New("invalid ICE candidate")
	ErrTooManyCandidates = errors.New("too many ICE candidates")
	// ErrNoComposite: the room has no composite for the connection (it
	// is audio-only, or no tier fits Media.MaxPictureSize).
	ErrNoComposite = errors.New("no composite for the connection")
)
