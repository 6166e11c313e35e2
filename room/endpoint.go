package room

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// A participant's media reaches the room through a connection (see
// package endpoint for the contract; package rtc is the WebRTC one). The
// room reads the connection's incoming tracks as RTP, hands it encoded
// frames through bounded Outputs, and hears from it through a Link.

// The endpoint contract's types, as the room's code names them.
type (
	Connection     = endpoint.Connection
	RTPReader      = endpoint.RTPReader
	SenderFeedback = endpoint.SenderFeedback
	Frame          = endpoint.Frame
	FrameWriter    = endpoint.FrameWriter
	ConnState      = endpoint.ConnState
	Media          = endpoint.Media
)

// Connection states (see endpoint).
const (
	ConnUp     = endpoint.ConnUp
	ConnFailed = endpoint.ConnFailed
	ConnClosed = endpoint.ConnClosed
)

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

// Link is how a connection reaches the room and participant it serves
// now: a participant that changes rooms takes its connection, and so its
// Link, along (see Move). Its methods may be called from any goroutine.
type Link struct {
	mu sync.Mutex
	r  *Room
	id ParticipantID
	// pending folds a flood of keyframe requests into one queued command.
	pending atomic.Uint64
	// outs are the connection's audio and video outputs (set by Attach),
	// whose receiver's losses ReportLost records without a trip to the
	// room.
	outs [2]atomic.Pointer[Output]
}

var _ endpoint.Link = (*Link)(nil)

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

// ReportLost gives the receiver's cumulative count of packets lost of the
// audio (video false) or video the room sends it.
func (l *Link) ReportLost(video bool, cumulative uint32) {
	i := 0
	if video {
		i = 1
	}
	if o := l.outs[i].Load(); o != nil {
		o.reportedLost.Store(cumulative)
	}
}

// ReadAudio reads the participant's microphone from src into the room
// until the track ends (it blocks: call it on the track's own goroutine).
// levelExt is the negotiated ID of the RFC 6464 audio level header
// extension (0: none).
func (l *Link) ReadAudio(conn Connection, src RTPReader, levelExt uint8) {
	r, id := l.get()
	r.readAudio(id, conn, src, opusMic(), levelExt)
}

// ReadAudioCodec is ReadAudio for a microphone in codec (CodecOpus,
// CodecPCMU, CodecPCMA or CodecG722), whose RTP timestamps run at the
// codec's clock. An unknown codec returns at once, the track unread. A
// later call replaces the microphone (a new codec: fresh jitter buffer
// and decoder).
func (l *Link) ReadAudioCodec(conn Connection, src RTPReader, codec string) {
	c, err := micCodecFor(codec)
	r, id := l.get()
	if err != nil {
		r.log.Error("microphone in a codec the room cannot decode", "participant", id, "err", err)
		return
	}
	r.readAudio(id, conn, src, c, 0)
}

// MixCodec changes the codec of the participant's mix (CodecOpus,
// CodecPCMU, CodecPCMA or CodecG722) from the room's next tick on. An
// unknown codec is an error wrapping ErrInvalidValue. A conn that is not
// (or no longer) the participant's connection changes nothing.
func (l *Link) MixCodec(conn Connection, codec string) error {
	name, err := mixCodecFor(codec)
	if err != nil {
		return err
	}
	r, id := l.get()
	r.post(func() {
		if p := r.parts[id]; p != nil && p.conn == conn && p.acodec != name {
			r.log.Info("mix codec changed", "participant", id, "from", p.acodec, "to", name)
			p.acodec = name
		}
	})
	return nil
}

// ReadVideo reads the participant's camera from src into the room until
// the track ends (it blocks). codec is CodecVP8 or CodecH264; fb talks
// back to the sender.
func (l *Link) ReadVideo(conn Connection, src RTPReader, codec string, fb SenderFeedback) {
	r, id := l.get()
	r.readVideo(id, conn, src, codec, "", fb)
}

// ReadVideoLayer reads one simulcast layer of the participant's camera,
// named by its RTP stream ID rid, until its track ends (it blocks). The
// layers of one camera share its tile: the room decodes the one the tile
// needs.
func (l *Link) ReadVideoLayer(conn Connection, src RTPReader, codec, rid string, fb SenderFeedback) {
	r, id := l.get()
	r.readVideo(id, conn, src, codec, rid, fb)
}

// Attach gives participant id its media connection: its mix and
// composite start flowing to m's writers (the composite at the best tier
// that fits m.MaxPictureSize, ErrNoTierFits if none does). It fails with
// ErrAlreadyNegotiated if the participant has one; the caller then closes
// conn. m.Link must be one of r's (NewLink).
func (r *Room) Attach(ctx context.Context, id ParticipantID, conn Connection, m Media) error {
	link, ok := m.Link.(*Link)
	switch {
	case !ok:
		return fmt.Errorf("%w: a link the room did not make", ErrInvalidValue)
	case conn == nil:
		return fmt.Errorf("%w: no connection", ErrInvalidValue)
	case m.Video != nil && r.video == nil:
		return fmt.Errorf("%w: %w: a composite asked of an audio-only room", ErrNoVideo, endpoint.ErrNoComposite)
	case m.Video != nil && m.VideoCodec != CodecVP8 && m.VideoCodec != CodecH264:
		return fmt.Errorf("%w: composite codec %q", ErrInvalidValue, m.VideoCodec)
	}
	acodec, err := mixCodecFor(m.AudioCodec)
	if err != nil {
		return err
	}
	var sizeFloor int
	if m.Video != nil {
		if sizeFloor, err = r.sizeFloor(m.MaxPictureSize); err != nil {
			return err
		}
	}
	return r.withParticipant(ctx, id, func(p *participant) error {
		if p.conn != nil {
			return ErrAlreadyNegotiated
		}
		p.conn, p.link, p.kind = conn, link, cmp.Or(m.Kind, kindOther)
		if m.Audio != nil {
			p.out = newOutput(m.Audio, egressQueueLen)
			link.outs[0].Store(p.out)
		}
		if m.Video != nil {
			p.vout = newOutput(m.Video, videoQueueLen)
			link.outs[1].Store(p.vout)
		}
		p.vcodec, p.acodec = m.VideoCodec, acodec
		p.watchOnly = !m.Sends || p.viewer
		if p.vout != nil {
			p.maxPicture, p.sizeFloor = m.MaxPictureSize, sizeFloor
			p.tier.Floor = max(p.tier.Floor, sizeFloor)
			r.addViewer(p, outputKey{codec: m.VideoCodec, tier: p.tier.Floor})
		}
		// Room lists count participants by their connection's kind.
		r.publishStats()
		return nil
	})
}

// Connection returns participant id's media connection (nil: none yet).
func (r *Room) Connection(ctx context.Context, id ParticipantID) (Connection, error) {
	var conn Connection
	err := r.withParticipant(ctx, id, func(p *participant) error {
		conn = p.conn
		return nil
	})
	return conn, err
}

// Member is participant id of r as a connection being set up sees it
// (package rtc's Member, and the like for other kinds of connection).
func (r *Room) Member(id ParticipantID) *Member { return &Member{r: r, id: id} }

// Member is one participant of a room, for a connection being set up.
type Member struct {
	r  *Room
	id ParticipantID
}

// Connection is the participant's media connection (nil: none yet).
func (m *Member) Connection(ctx context.Context) (Connection, error) {
	return m.r.Connection(ctx, m.id)
}

// VideoPreference is the composite codec the participant asked for when
// it joined ("": none), and whether the room has video at all.
func (m *Member) VideoPreference(ctx context.Context) (codec string, hasVideo bool, err error) {
	err = m.r.withParticipant(ctx, m.id, func(p *participant) error {
		codec = p.preferCodec
		return nil
	})
	return codec, m.r.HasVideo(), err
}

// NewLink makes the Link the connection reports through.
func (m *Member) NewLink() endpoint.Link { return m.r.NewLink(m.id) }

// Attach gives the participant its connection (see Room.Attach).
func (m *Member) Attach(ctx context.Context, conn Connection, media Media) error {
	return m.r.Attach(ctx, m.id, conn, media)
}

// Stream names the media streams the room sends.
func (m *Member) Stream() string { return fmt.Sprintf("tessera-%d", m.r.id) }
