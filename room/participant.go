package room

import (
	"time"

	"github.com/tessera-mcu/tessera/mixer"
	"github.com/tessera-mcu/tessera/room/avsync"
	"github.com/tessera-mcu/tessera/room/tier"
)

// ParticipantInfo is a participant's public state.
type ParticipantInfo struct {
	ID      ParticipantID `json:"id"`
	Display string        `json:"display,omitempty"`
	Muted   bool          `json:"muted"`
	// Setup is true once the participant's media connection is up.
	Setup   bool    `json:"setup"`
	Talking bool    `json:"talking"`
	Volume  float32 `json:"volume"`
}

// participant is one member of a room. Its fields belong to the room's
// owner goroutine except where noted.
type participant struct {
	id      ParticipantID
	display string
	muted   bool
	volume  float32
	setup   bool
	talking bool
	joined  time.Time

	in     *audioInput
	out    *Output
	acodec string      // the codec of the mix out carries (CodecOpus, CodecPCMU, CodecPCMA, CodecG722)
	mix    mixer.MixID // the mix the listener heard last tick (noMix: none of this room's)
	// pace keeps the participant's voice and pictures together.
	pace avsync.Pace

	// Video.
	vin    *videoInput
	vout   *Output
	vcodec string
	vkey   outputKey
	// vready: the viewer has had a keyframe of its output since it was
	// put on it (and since its connection came up); until then it is sent
	// nothing.
	vready      bool
	tier        tier.State
	preferCodec string
	// maxPicture is the largest picture the viewer decodes, in pixels (0:
	// no limit); sizeFloor is the best tier that fits it, below which
	// tier.Floor never goes.
	maxPicture, sizeFloor int
	// watchOnly: the participant's media session sends nothing (a lobby
	// screen, a wall display); it gets no tile on the composite.
	watchOnly bool
	// viewer: a hidden participant (see JoinRequest.Viewer).
	viewer bool

	// conn is the participant's media connection (nil: none yet); link
	// is how its callbacks reach the room.
	conn Connection
	link *Link
	loss lossState
	// kind is the connection's kind (endpoint.Media.Kind).
	kind string
}

func (p *participant) info() ParticipantInfo {
	return ParticipantInfo{ID: p.id, Display: p.display, Muted: p.muted, Setup: p.setup, Talking: p.talking, Volume: p.volume}
}

// noMix is no mix of the room's: a listener whose decoder follows another
// stream.
const noMix = ^mixer.MixID(0)

// lossState follows a participant's packet loss for slowlink events:
// audio and video in, then audio and video out.
type lossState struct {
	seen [2]uint64
	last [4]time.Time
	// videoOut counts the composite's packets the viewer's receiver
	// reports said were lost since the last tier check.
	videoOut int
}
