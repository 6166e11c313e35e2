package room

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// A participant's media reaches the room through a connection: the WebRTC
// peer (rtc_peer.go) is one kind, and any other transport plugs in the
// same way. The room knows a connection only through the small interfaces
// below: it reads the connection's incoming tracks as RTP, hands it
// encoded frames through bounded outputs, and hears from it through a
// Link (keyframe requests, connection state).

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
}

// FrameWriter sends a participant's outgoing audio or video.
type FrameWriter interface {
	WriteFrame(Frame) error
}

// Output carries one participant's outgoing audio or video from the room
// tick to its connection's FrameWriter: a bounded queue, drained by its
// own goroutine, that drops (and counts) when the connection cannot keep
// up. The room goroutine is the only sender.
type Output struct {
	ch      chan Frame
	dropped atomic.Uint64
	sent    atomic.Uint64
	done    chan struct{}
	// skipped counts the frames not sent since the last one queued
	// (dropped for a full queue, or withheld); the room goroutine owns it.
	skipped uint16
	// reportedLost is the receiver's cumulative count of packets lost
	// (ReportLost). withheld counts the frames left out on purpose
	// (skip), which the receiver counts as lost too; excess is the most
	// loss beyond them the room has seen (room goroutine).
	reportedLost atomic.Uint32
	withheld     atomic.Uint32
	excess       int64
}

// Queue lengths of outputs: 320 ms of audio, one second of video at
// 30 fps. A listener that cannot keep up loses frames; the room does not
// wait for it.
const (
	egressQueueLen = 16
	videoQueueLen  = 30
)

// NewAudioOutput starts an output for a participant's mix.
func NewAudioOutput(w FrameWriter) *Output { return newOutput(w, egressQueueLen) }

// NewVideoOutput starts an output for a participant's composite.
func NewVideoOutput(w FrameWriter) *Output { return newOutput(w, videoQueueLen) }

func newOutput(w FrameWriter, queue int) *Output {
	o := &Output{ch: make(chan Frame, queue), done: make(chan struct{})}
	go func() {
		defer close(o.done)
		for f := range o.ch {
			if err := w.WriteFrame(f); err == nil {
				o.sent.Add(1)
			}
		}
	}()
	return o
}

// ReportLost gives the receiver's cumulative count of packets of this
// output lost on the way (from its RTCP receiver reports).
func (o *Output) ReportLost(cumulative uint32) { o.reportedLost.Store(cumulative) }

// push queues a frame; false means the queue was full and it was dropped.
// Frames not sent still take their place on the timeline: the next frame
// queued carries their count, so RTP time stays on the room clock (and in
// step with the other medium) and the sequence gap, right where they
// were, tells the receiver they are lost.
func (o *Output) push(f Frame) bool {
	f.Skipped = o.skipped
	select {
	case o.ch <- f:
		o.skipped = 0
		return true
	default:
		o.dropped.Add(1)
		o.skipped = min(o.skipped+1, 1000)
		return false
	}
}

// skip leaves one frame out of the stream on purpose (the viewer waits
// for a keyframe, or the frame could not be made).
func (o *Output) skip() {
	o.skipped = min(o.skipped+1, 1000)
	o.withheld.Add(1)
}

// close ends the output; its goroutine ends once the queue is drained.
func (o *Output) close() { close(o.ch) }

// Media is what a connection brings to a participant: where its mix and
// composite go (nil: not wanted), the codec of the composite, whether it
// sends anything (a watch-only screen gets no tile), and its Link.
type Media struct {
	Audio, Video *Output
	VideoCodec   string
	Sends        bool
	Link         *Link
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
// Link, along (see Move). Its methods may be called from any goroutine.
type Link struct {
	mu sync.Mutex
	r  *Room
	id ParticipantID
	// pending folds a flood of keyframe requests into one queued command.
	pending atomic.Uint64
}

// NewLink makes a Link to participant id of r, for a connection about to
// be attached with Attach.
func (r *Room) NewLink(id ParticipantID) *Link { return &Link{r: r, id: id} }

func (l *Link) get() (*Room, ParticipantID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r, l.id
}

func (l *Link) set(r *Room, id ParticipantID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.r, l.id = r, id
}

// RequestKeyframe passes on the participant's request for a keyframe of
// its composite (RTCP PLI or FIR). A flood of them (a hostile or broken
// client) costs one queued command at a time: requests arriving while
// one waits for the tick are folded into it.
func (l *Link) RequestKeyframe() {
	if l.pending.Add(1) == 1 {
		r, id := l.get()
		r.post(func() { r.viewerWantsKeyframe(id, l.pending.Swap(0)) })
	}
}

// State reports the connection's state.
func (l *Link) State(conn Connection, s ConnState) {
	r, id := l.get()
	r.post(func() { r.connState(id, conn, s) })
}

// ReadAudio reads the participant's microphone from src into the room
// until the track ends (it blocks: call it on the track's own goroutine).
// levelExt is the negotiated ID of the RFC 6464 audio level header
// extension (0: none).
func (l *Link) ReadAudio(conn Connection, src RTPReader, levelExt uint8) {
	r, id := l.get()
	r.readAudio(id, conn, src, levelExt)
}

// ReadVideo reads the participant's camera from src into the room until
// the track ends (it blocks). codec is CodecVP8 or CodecH264; fb talks
// back to the sender.
func (l *Link) ReadVideo(conn Connection, src RTPReader, codec string, fb SenderFeedback) {
	r, id := l.get()
	r.readVideo(id, conn, src, codec, fb)
}

// Attach gives participant id its media connection. It fails with
// ErrAlreadyNegotiated if the participant has one; the caller then closes
// conn and the outputs' writers stay idle.
func (r *Room) Attach(ctx context.Context, id ParticipantID, conn Connection, m Media) error {
	return r.withParticipant(ctx, id, func(p *Participant) error {
		if p.conn != nil {
			return ErrAlreadyNegotiated
		}
		p.conn, p.link = conn, m.Link
		p.out, p.vout, p.vcodec = m.Audio, m.Video, m.VideoCodec
		p.watchOnly = !m.Sends
		if p.vout != nil {
			r.addViewer(p, outputKey{codec: m.VideoCodec, tier: p.tier.Floor})
		}
		return nil
	})
}

// Connection returns participant id's media connection (nil: none yet).
func (r *Room) Connection(ctx context.Context, id ParticipantID) (Connection, error) {
	var conn Connection
	err := r.withParticipant(ctx, id, func(p *Participant) error {
		conn = p.conn
		return nil
	})
	return conn, err
}

// VideoCodecPreference is the composite codec participant id asked for
// when it joined ("" : none), and whether the room has video at all.
func (r *Room) VideoCodecPreference(ctx context.Context, id ParticipantID) (codec string, hasVideo bool, err error) {
	err = r.withParticipant(ctx, id, func(p *Participant) error {
		codec = p.preferCodec
		return nil
	})
	return codec, r.video != nil, err
}
