package room

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/tessera-mcu/tessera/internal/jsid"
)

// StreamSink takes the composed meeting out of a room: a live push
// (RTMP), an HLS packager. The room calls it from a goroutine of the
// stream's own, never from the tick, in pts order per medium; a slow sink
// only fills the stream's queue, whose overflow is dropped and counted.
type StreamSink interface {
	// WriteVideo takes one H.264 access unit of the composite (Annex B,
	// SPS and PPS before every keyframe); pts counts from the stream's
	// start.
	WriteVideo(au []byte, keyframe bool, pts time.Duration) error
	// WriteAudio takes 20 ms of the full mix: 960 samples, 48 kHz, mono,
	// signed 16-bit.
	WriteAudio(pcm []int16, pts time.Duration) error
}

// Writes must return promptly (a network sink queues and sends from a
// goroutine of its own): stopping a stream, and ending its room, wait for
// the write in progress. A sink that is also an io.Closer is closed by
// the stream once it has had its last write, however the stream ended.

// A non-nil error from a Write ends the stream for good: the room
// detaches it and tells everyone (EventStream with the reason). A sink
// with transient trouble (a reconnecting push) handles it inside.

// StreamID names a stream of a room.
type StreamID uint64

// StreamOptions configures a stream.
type StreamOptions struct {
	// Name describes the stream in lists and events (an address without
	// its secret, "hls").
	Name string
	// Tier of the composite the stream carries (0: the best).
	Tier int
	// KeyframeInterval is the longest time between two keyframes of the
	// stream's video (default 2 s, what live ingest services ask for).
	KeyframeInterval time.Duration
}

// StreamInfo describes a running stream.
type StreamInfo struct {
	ID      StreamID  `json:"id"`
	Name    string    `json:"name"`
	Started time.Time `json:"started"`
	// Video: the stream carries the composite (the room has video).
	Video  bool `json:"video"`
	Width  int  `json:"width,omitempty"`
	Height int  `json:"height,omitempty"`
	// Dropped counts frames a full queue lost (a sink too slow).
	Dropped uint64 `json:"dropped"`
}

// DefaultStreamKeyframeInterval is the keyframe interval of streams that
// do not set one.
const DefaultStreamKeyframeInterval = 2 * time.Second

// streamQueueLen bounds the frames waiting for one sink: about 2.5 s of
// audio and video.
const streamQueueLen = 256

type streamItem struct {
	video    bool
	au       []byte
	pcm      []int16
	keyframe bool
	pts      time.Duration
}

// stream feeds one sink; the room goroutine owns every field but the
// atomics and the queue's far end.
type stream struct {
	info     StreamInfo
	sink     StreamSink
	key      outputKey
	interval time.Duration
	// origin is the room-clock time the stream's pts 0 stands for (see
	// recorder.origin).
	origin time.Duration
	// needKey: the sink has had no keyframe since the start or a dropped
	// frame; video waits for one.
	needKey bool
	q       chan streamItem
	done    chan struct{}
	failed  atomic.Bool
	// ended: the stream was detached; what is still queued is live media
	// nobody waits for, and is let go rather than given to the sink.
	ended   atomic.Bool
	dropped atomic.Uint64
}

// StartStream feeds sink with the room's composite (when it has video:
// H.264 at the tier asked) and its full mix until StopStream, a sink
// error or the room's end. The first video it gets is a keyframe, and
// keyframes follow at least every KeyframeInterval. An encoder already
// running for live viewers on that tier is shared.
func (r *Room) StartStream(ctx context.Context, o StreamOptions, sink StreamSink) (StreamInfo, error) {
	if sink == nil {
		return StreamInfo{}, fmt.Errorf("%w: no stream sink", ErrInvalidValue)
	}
	if o.KeyframeInterval <= 0 {
		o.KeyframeInterval = DefaultStreamKeyframeInterval
	}
	if r.video != nil && (o.Tier < 0 || o.Tier >= len(r.video.cfg.Tiers)) {
		return StreamInfo{}, fmt.Errorf("%w: stream tier %d (the room has %d)", ErrInvalidValue, o.Tier, len(r.video.cfg.Tiers))
	}
	if !r.takeStream() {
		return StreamInfo{}, fmt.Errorf("%w: at most %d at once", ErrTooManyStreams, r.mgr.limits.MaxStreams)
	}
	s := &stream{sink: sink, interval: o.KeyframeInterval, needKey: true,
		q: make(chan streamItem, streamQueueLen), done: make(chan struct{}),
		info: StreamInfo{ID: StreamID(jsid.New()), Name: o.Name, Started: time.Now()}}
	var err error
	started := false
	xerr := r.exec(context.WithoutCancel(ctx), func() {
		s.origin = time.Duration(r.frames) * tick
		if r.video != nil {
			s.key = outputKey{codec: CodecH264, tier: o.Tier}
			vo, oerr := r.video.output(s.key)
			if oerr != nil {
				err = fmt.Errorf("%w: stream encoder: %w", ErrInternal, oerr)
				return
			}
			vo.viewers++
			vo.requestKeyframe(keyframeNow) // the stream starts on it
			s.origin = min(s.origin, time.Duration(r.vframes)*r.video.period())
			t := r.video.cfg.Tiers[o.Tier]
			s.info.Video, s.info.Width, s.info.Height = true, t.Width, t.Height
		}
		if r.streams == nil {
			r.streams = make(map[StreamID]*stream)
		}
		r.streams[s.info.ID] = s
		r.streamsOn.Store(int32(len(r.streams)))
		started = true
		go s.run(r)
		r.publish(Event{Kind: EventStream, Stream: s.info, Streaming: true, State: StreamStarting})
	})
	if !started {
		r.releaseStream()
		if xerr != nil {
			return StreamInfo{}, xerr
		}
		return StreamInfo{}, err
	}
	r.log.Info("stream started", "stream", s.info.ID, "name", s.info.Name)
	return s.info, nil
}

// StopStream ends a stream; it returns once the sink is no longer called
// (frames still queued for a slow sink are let go).
func (r *Room) StopStream(ctx context.Context, id StreamID) (StreamInfo, error) {
	var s *stream
	if err := r.exec(ctx, func() { s = r.detachStream(id, "stopped") }); err != nil {
		return StreamInfo{}, err
	}
	if s == nil {
		return StreamInfo{}, fmt.Errorf("%w: %d", ErrNoSuchStream, id)
	}
	<-s.done
	info := s.info
	info.Dropped = s.dropped.Load()
	r.log.Info("stream stopped", "stream", id, "name", info.Name, "dropped", info.Dropped)
	return info, nil
}

// Streams lists the room's running streams.
func (r *Room) Streams(ctx context.Context) ([]StreamInfo, error) {
	var out []StreamInfo
	err := r.exec(ctx, func() {
		for _, s := range r.streams {
			info := s.info
			info.Dropped = s.dropped.Load()
			out = append(out, info)
		}
	})
	return out, err
}

// Stream states a stream event carries. A stream starts in
// StreamStarting; its sink says when it is StreamStreaming (an RTMP push
// once the ingest accepts it, an HLS stream at once) and may report
// other states of its own (e.g. "reconnecting").
const (
	StreamStarting  = "starting"
	StreamStreaming = "streaming"
)

// NotifyStream tells the room's participants of a change in a stream's
// state that only its sink knows (state: StreamStreaming or the sink's
// own, e.g. "reconnecting"; reason: why). Safe to call from any
// goroutine.
func (r *Room) NotifyStream(id StreamID, state, reason string) {
	r.post(func() {
		if s := r.streams[id]; s != nil {
			r.publish(Event{Kind: EventStream, Stream: s.info, Streaming: true, State: state, Reason: reason})
		}
	})
}

// StreamKeyframe asks for a keyframe on a stream's video at once (its
// sink reconnected, say). Safe to call from any goroutine.
func (r *Room) StreamKeyframe(id StreamID) {
	r.post(func() {
		if s := r.streams[id]; s != nil && s.info.Video && r.video != nil {
			if o := r.video.outputs[s.key]; o != nil {
				o.requestKeyframe(keyframeNewViewer)
			}
		}
	})
}

// detachStream takes a stream off the room (room goroutine): nothing more
// is queued, and its goroutine ends once the sink has what was.
func (r *Room) detachStream(id StreamID, reason string) *stream {
	s := r.streams[id]
	if s == nil {
		return nil
	}
	delete(r.streams, id)
	r.streamsOn.Store(int32(len(r.streams)))
	if s.info.Video && r.video != nil {
		r.video.release(s.key)
	}
	s.ended.Store(true)
	close(s.q)
	info := s.info
	info.Dropped = s.dropped.Load()
	r.publish(Event{Kind: EventStream, Stream: info, Streaming: false, Reason: reason})
	return s
}

// detachStreams ends every stream (the room is ending) and waits for
// their goroutines.
func (r *Room) detachStreams(reason string) {
	var ended []*stream
	for id := range r.streams {
		ended = append(ended, r.detachStream(id, reason))
	}
	for _, s := range ended {
		<-s.done
	}
}

// streamAudio queues this tick's full mix for every stream.
func (r *Room) streamAudio(pcm []int16) {
	if len(r.streams) == 0 || pcm == nil {
		return
	}
	for _, s := range r.streams {
		s.push(streamItem{pcm: append([]int16(nil), pcm...), pts: time.Duration(r.frames)*tick - s.origin})
	}
}

// streamVideo queues a composite frame of output key for the streams that
// carry it, and keeps their keyframes coming.
func (r *Room) streamVideo(o *videoOutput, au []byte, keyframe bool) {
	for _, s := range r.streams {
		if !s.info.Video || s.key != o.key {
			continue
		}
		o.requestKeyframe(s.interval)
		if s.needKey && !keyframe {
			continue // nothing decodes before a keyframe
		}
		pts := time.Duration(r.vframes)*r.video.period() - s.origin
		if pts < 0 {
			continue
		}
		s.needKey = false
		if !s.push(streamItem{video: true, au: au, keyframe: keyframe, pts: pts}) {
			s.needKey = true
			o.requestKeyframe(keyframeInterval)
		}
	}
}

func (s *stream) push(it streamItem) bool {
	if s.failed.Load() {
		return true
	}
	select {
	case s.q <- it:
		return true
	default:
		s.dropped.Add(1)
		return false
	}
}

// run hands queued frames to the sink until the queue closes; a sink
// error ends the stream.
func (s *stream) run(r *Room) {
	defer close(s.done)
	defer r.releaseStream()
	if c, ok := s.sink.(io.Closer); ok {
		defer func() {
			if err := c.Close(); err != nil {
				r.log.Warn("closing a stream's sink", "stream", s.info.ID, "name", s.info.Name, "err", err)
			}
		}()
	}
	for it := range s.q {
		if s.failed.Load() || s.ended.Load() || it.pts < 0 {
			continue
		}
		var err error
		if it.video {
			err = s.sink.WriteVideo(it.au, it.keyframe, it.pts)
		} else {
			err = s.sink.WriteAudio(it.pcm, it.pts)
		}
		if err != nil {
			s.failed.Store(true)
			r.log.Warn("stream failed; the meeting goes on", "stream", s.info.ID, "name", s.info.Name, "err", err)
			id := s.info.ID
			r.post(func() { r.detachStream(id, "error: "+err.Error()) })
		}
	}
}
