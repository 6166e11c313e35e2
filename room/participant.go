package room

import (
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
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

	// Video.
	vin         *videoInput
	vout        *egress
	vcodec      string
	vkey        outputKey
	tierVotes   int
	preferCodec string
	// watchOnly: the participant's media session sends nothing (a lobby
	// screen, a wall display); it gets no tile on the composite.
	watchOnly bool

	// pc is read by signalling goroutines (trickle) as well.
	pc  atomic.Pointer[webrtc.PeerConnection]
	est cc.BandwidthEstimator
}

func (p *Participant) info() ParticipantInfo {
	return ParticipantInfo{ID: p.id, Display: p.display, Muted: p.muted, Setup: p.setup, Talking: p.talking, Volume: p.volume}
}

// egressQueueLen bounds the packets waiting for one listener's network
// writer: 320 ms of audio. A listener that cannot keep up loses packets;
// the room does not wait for it.
const egressQueueLen = 16

// egress carries one listener's outgoing audio from the room tick to its
// track. The room goroutine is the only sender and closes ch on leave.
type egress struct {
	ch      chan media.Sample
	dropped atomic.Uint64
	pending atomic.Uint32 // dropped since the last sample written
	sent    atomic.Uint64
	done    chan struct{}
}

func newEgress(track *webrtc.TrackLocalStaticSample, queue int) *egress {
	e := &egress{ch: make(chan media.Sample, queue), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		for s := range e.ch {
			// Samples dropped for this listener still take their place on
			// the timeline: RTP time stays on the room clock (and in step
			// with the other medium) and the sequence gap tells the
			// receiver they are lost.
			s.PrevDroppedPackets = uint16(min(e.pending.Swap(0), 1000))
			if err := track.WriteSample(s); err == nil {
				e.sent.Add(1)
			}
		}
	}()
	return e
}

// push queues a sample; false means the queue was full and it was
// dropped.
func (e *egress) push(s media.Sample) bool {
	select {
	case e.ch <- s:
		return true
	default:
		e.dropped.Add(1)
		e.pending.Add(1)
		return false
	}
}

// videoQueueLen bounds one viewer's outgoing video: one second at 30 fps.
const videoQueueLen = 30

func (e *egress) close() { close(e.ch) }
