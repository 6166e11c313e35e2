package room

import (
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/tessera-mcu/tessera/mixer"
	"github.com/tessera-mcu/tessera/room/avsync"
	"github.com/tessera-mcu/tessera/room/tier"
)

// ParticipantInfo is a participant's public state.
type ParticipantInfo struct {
	ID      ParticipantID `json:"id"`
	Display string        `json:"display,omitempty"`
	Muted   bool          `json:"muted"`
	// Setup is true once the participant's PeerConnection is connected.
	Setup   bool    `json:"setup"`
	Talking bool    `json:"talking"`
	Volume  float32 `json:"volume"`
}

// Participant is one member of a room. Its fields belong to the room's
// owner goroutine except where noted.
type Participant struct {
	id      ParticipantID
	display string
	muted   bool
	volume  float32
	setup   bool
	talking bool
	joined  time.Time

	in  *audioInput
	out *egress
	mix mixer.MixID // the mix the listener heard last tick (noMix: none of this room's)
	// pace keeps the participant's voice and pictures together.
	pace avsync.Pace

	// Video.
	vin    *videoInput
	vout   *egress
	vcodec string
	vkey   outputKey
	// vready: the viewer has had a keyframe of its output since it was
	// put on it (and since its connection came up); until then it is sent
	// nothing.
	vready      bool
	tier        tier.State
	preferCodec string
	// watchOnly: the participant's media session sends nothing (a lobby
	// screen, a wall display); it gets no tile on the composite.
	watchOnly bool

	// pc is read by signalling goroutines (trickle) as well.
	pc   atomic.Pointer[webrtc.PeerConnection]
	est  cc.BandwidthEstimator
	link *peerLink // where pc's callbacks go
	loss lossState
	// cands: the client's ICE candidates pc has taken.
	cands remoteCandidates
}

func (p *Participant) info() ParticipantInfo {
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
}

// egressQueueLen bounds the packets waiting for one listener's network
// writer: 320 ms of audio. A listener that cannot keep up loses packets;
// the room does not wait for it.
const egressQueueLen = 16

// egress carries one listener's outgoing audio or video from the room
// tick to its track. The room goroutine is the only sender and closes ch on
// leave.
type egress struct {
	ch      chan media.Sample
	dropped atomic.Uint64
	sent    atomic.Uint64
	done    chan struct{}
	// skipped counts the samples not sent since the last one queued
	// (dropped for a full queue, or withheld); the room goroutine owns it.
	skipped uint16
	// reportedLost is the receiver's cumulative count of packets lost,
	// from its RTCP reports. withheld counts the samples left out on
	// purpose (skip), which the receiver counts as lost too; excess is the
	// most loss beyond them the room has seen (room goroutine).
	reportedLost atomic.Uint32
	withheld     atomic.Uint32
	excess       int64
	// ssrc is the stream's SSRC, for picking its reports out of compound
	// RTCP (set once the sender is bound).
	ssrc atomic.Uint32
}

func newEgress(track *webrtc.TrackLocalStaticSample, queue int) *egress {
	e := &egress{ch: make(chan media.Sample, queue), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		for s := range e.ch {
			if err := track.WriteSample(s); err == nil {
				e.sent.Add(1)
			}
		}
	}()
	return e
}

// push queues a sample; false means the queue was full and it was
// dropped. Samples not sent still take their place on the timeline: the
// next sample queued carries their count, so RTP time stays on the room
// clock (and in step with the other medium) and the sequence gap, right
// where they were, tells the receiver they are lost.
func (e *egress) push(s media.Sample) bool {
	s.PrevDroppedPackets = e.skipped
	select {
	case e.ch <- s:
		e.skipped = 0
		return true
	default:
		e.dropped.Add(1)
		e.skipped = min(e.skipped+1, 1000)
		return false
	}
}

// skip leaves one sample out of the stream on purpose (the viewer waits
// for a keyframe, or the sample could not be made).
func (e *egress) skip() {
	e.skipped = min(e.skipped+1, 1000)
	e.withheld.Add(1)
}

// videoQueueLen bounds one viewer's outgoing video: one second at 30 fps.
const videoQueueLen = 30

func (e *egress) close() { close(e.ch) }
