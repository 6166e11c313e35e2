package hls

import (
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mch264 "github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
	"github.com/tessera-mcu/tessera/internal/loglimit"
)

// Defaults of Config.
const (
	DefaultSegmentDuration = 2 * time.Second
	DefaultPartDuration    = 200 * time.Millisecond
	DefaultWindow          = 6
)

// keepAfterWindow is how many segments stay servable after they leave the
// playlist, for players that loaded the playlist just before they left.
const keepAfterWindow = 2

// Track IDs and time scales in the fMP4 stream.
const (
	videoTrackID   = 1
	audioTrackID   = 2
	videoTimeScale = 90000
)

// maxSegmentFactor bounds a segment to this many segment durations when
// no keyframe comes: the muxer then cuts at any picture, so the memory a
// stream holds stays bounded whatever its source does.
const maxSegmentFactor = 4

// partSlack is how far past the part target a part may end before the
// muxer cuts it earlier: timestamps of a steady frame rate jitter by a few
// microseconds, and a part that loses a frame to that is needlessly short.
const partSlack = time.Millisecond

// Config configures a Muxer.
type Config struct {
	// Audio encodes the room's mix to AAC. Nil makes a video-only stream
	// and WriteAudio a no-op.
	Audio AudioEncoder
	// SegmentDuration is the target length of a segment. Segments are cut
	// at the first keyframe at least three quarters of it after the
	// segment's start, so the stream's keyframe interval should equal it.
	// Zero means DefaultSegmentDuration.
	SegmentDuration time.Duration
	// PartDuration is the target length of a low-latency partial segment;
	// parts are cut between frames and never exceed it by more than the
	// timestamps jitter. Zero means DefaultPartDuration.
	PartDuration time.Duration
	// Window is the number of complete segments the playlist lists. Zero
	// means DefaultWindow.
	Window int
	// ProgramDateTime puts EXT-X-PROGRAM-DATE-TIME (the wall clock of
	// each segment's first picture) in the playlist. It is off by
	// default: hls.js (1.7) aligns successive low-latency playlists by it
	// and, on this stream, moves segments two seconds back in its
	// timeline as each completes, so that playback stops after a few
	// seconds; without it hls.js aligns by media sequence and plays on.
	ProgramDateTime bool
	// Now is the wall clock for EXT-X-PROGRAM-DATE-TIME; nil means
	// time.Now.
	Now func() time.Time
	// Logger receives the muxer's rate-limited warnings; nil means
	// slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.SegmentDuration == 0 {
		c.SegmentDuration = DefaultSegmentDuration
	}
	if c.PartDuration == 0 {
		c.PartDuration = DefaultPartDuration
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch {
	case c.SegmentDuration < 500*time.Millisecond || c.SegmentDuration > 30*time.Second:
		return fmt.Errorf("%w: segment duration %v outside 500ms..30s", ErrInvalidConfig, c.SegmentDuration)
	case c.PartDuration < 50*time.Millisecond || c.PartDuration > c.SegmentDuration/2:
		return fmt.Errorf("%w: part duration %v outside 50ms..%v", ErrInvalidConfig, c.PartDuration, c.SegmentDuration/2)
	case c.Window < 3 || c.Window > 100:
		return fmt.Errorf("%w: window of %d segments outside 3..100", ErrInvalidConfig, c.Window)
	}
	return nil
}

// Stats counts what a Muxer did.
type Stats struct {
	VideoFrames  uint64 // access units muxed
	VideoDropped uint64 // before the first keyframe, malformed, or out of order
	AudioFrames  uint64 // AAC frames muxed
	AudioDropped uint64 // before the stream's start, overlapping, or empty
	Parts        uint64 // partial segments made
	Segments     uint64 // complete segments made
	ForcedCuts   uint64 // segments cut without a keyframe, none having come in time
	Bytes        uint64 // bytes of media segments made
}

type stats struct {
	videoFrames, videoDropped atomic.Uint64
	audioFrames, audioDropped atomic.Uint64
	parts, segments, bytes    atomic.Uint64
	forcedCuts                atomic.Uint64
}

// streamSeq makes stream IDs unique within the process; with the start
// time in them they are unique across restarts too, so a cache never
// serves one stream's segment for another's.
var streamSeq atomic.Uint64

// Muxer packages the composed meeting as low-latency HLS: fMP4 (CMAF)
// segments cut at keyframes, each made of partial segments, held in
// memory for a sliding window. It implements the room's StreamSink; one
// goroutine writes, any number read through the handler.
type Muxer struct {
	cfg Config
	id  string // prefix of every resource name of this stream
	log *slog.Logger

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	closed  bool
	init    []byte
	t0      time.Time  // wall clock at pts 0
	segs    []*segment // complete segments, oldest first, then the open one
	nextMSN uint64     // media sequence number of the open segment

	w writer // the writing goroutine's own state

	stats stats
}

// audioWait is how long past a cut the open part waits for its audio.
// The mix reaches the muxer through the AAC encoder a few tens of
// milliseconds after the picture of the same instant; a part whose audio
// ends before its video ends leaves a hole at the end of a player's
// buffer of muxed audio and video (the buffer holds what both tracks
// cover), and hls.js then reloads the segment instead of going on.
const audioWait = 200 * time.Millisecond

// cut is a part boundary at a picture's pts.
type cut struct {
	end        time.Duration
	endSegment bool
}

// writer is the state only the writing goroutine touches.
type writer struct {
	started    bool
	startPTS   time.Duration
	segStart   time.Duration
	partStart  time.Duration
	partSeq    uint32
	pending    *fmp4.Sample // last access unit; its duration comes with the next
	pendingPTS time.Duration
	video      []*fmp4.Sample // the open part's video
	cut        *cut           // where the open part ends, while its audio catches up
	after      []*fmp4.Sample // video after the cut, for the next part
	audio      []*fmp4.Sample // the open part's audio
	audioBase  uint64         // tfdt of audio[0], 48 kHz ticks
	audioNext  uint64         // where the next AAC frame belongs, 48 kHz ticks
	buf        seekablebuffer.Buffer
	warn       loglimit.Limiter
}

// NewMuxer makes a Muxer. Nothing is servable until the first keyframe.
func NewMuxer(cfg Config) (*Muxer, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	m := &Muxer{
		cfg:     cfg,
		id:      strconv.FormatInt(time.Now().UnixMilli(), 36) + strconv.FormatUint(streamSeq.Add(1), 36),
		log:     cfg.Logger,
		changed: make(chan struct{}),
		// Media sequence numbers start at 1: hls.js (1.7) mistakes a part
		// of segment 0 for no part at all when it checks what was
		// evicted from its buffer, drops segment 0's parts as they are
		// appended and reloads them for ever.
		nextMSN: 1,
	}
	return m, nil
}

// Stats returns the muxer's counters.
func (m *Muxer) Stats() Stats {
	s := &m.stats
	return Stats{
		VideoFrames: s.videoFrames.Load(), VideoDropped: s.videoDropped.Load(),
		AudioFrames: s.audioFrames.Load(), AudioDropped: s.audioDropped.Load(),
		Parts: s.parts.Load(), Segments: s.segments.Load(), Bytes: s.bytes.Load(),
		ForcedCuts: s.forcedCuts.Load(),
	}
}

// Close ends the stream: writes fail with ErrClosed, waiting requests
// return, and the handler drops the stream. It is safe to call more than
// once and from any goroutine.
func (m *Muxer) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		m.notifyLocked()
	}
	return nil
}

// Done reports whether the muxer was closed.
func (m *Muxer) Done() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

func (m *Muxer) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// WriteVideo takes one H.264 access unit (Annex B). The stream starts at
// the first keyframe, which must carry the SPS and PPS; pictures before it
// are dropped and counted. pts must grow.
func (m *Muxer) WriteVideo(au []byte, keyframe bool, pts time.Duration) error {
	if m.Done() {
		return ErrClosed
	}
	w := &m.w
	var nalus mch264.AnnexB
	if err := nalus.Unmarshal(au); err != nil || len(nalus) == 0 {
		m.stats.videoDropped.Add(1)
		w.warn.Warn(m.log, "hls: dropped a malformed access unit", "error", fmt.Errorf("%w: %v", ErrBadAccessUnit, err))
		return nil
	}
	if !w.started {
		if !keyframe {
			m.stats.videoDropped.Add(1)
			return nil
		}
		if err := m.start(nalus, pts); err != nil {
			m.stats.videoDropped.Add(1)
			w.warn.Warn(m.log, "hls: dropped a keyframe the stream cannot start with", "error", err)
			return nil
		}
	} else if pts <= w.pendingPTS {
		m.stats.videoDropped.Add(1)
		w.warn.Warn(m.log, "hls: dropped an access unit out of order", "pts", pts, "last", w.pendingPTS)
		return nil
	}
	avcc, err := mch264.AVCC(nalus).Marshal()
	if err != nil {
		m.stats.videoDropped.Add(1)
		w.warn.Warn(m.log, "hls: dropped an access unit", "error", fmt.Errorf("%w: %v", ErrBadAccessUnit, err))
		return nil
	}
	if w.pending != nil {
		last := pts - w.pendingPTS
		w.pending.Duration = uint32(videoTicks(pts) - videoTicks(w.pendingPTS))
		if w.cut != nil {
			w.after = append(w.after, w.pending)
		} else {
			w.video = append(w.video, w.pending)
		}
		w.pending = nil
		if w.cut != nil && (keyframe || pts-w.cut.end > audioWait) {
			if err := m.finishCut(); err != nil {
				return err
			}
		}
		if w.cut == nil {
			switch {
			case keyframe && pts-w.segStart >= m.cfg.SegmentDuration*3/4:
				m.cutAt(pts, true)
			case pts-w.segStart >= maxSegmentFactor*m.cfg.SegmentDuration:
				m.stats.forcedCuts.Add(1)
				w.warn.Warn(m.log, "hls: no keyframe for too long, segment cut without one", "after", pts-w.segStart)
				m.cutAt(pts, true)
			case pts-w.partStart+last > m.cfg.PartDuration+partSlack:
				m.cutAt(pts, false)
			}
			if w.cut != nil && !m.audioBehind(w.cut.end) {
				if err := m.finishCut(); err != nil {
					return err
				}
			}
		}
	}
	w.pending = &fmp4.Sample{Payload: avcc, IsNonSyncSample: !keyframe}
	w.pendingPTS = pts
	m.stats.videoFrames.Add(1)
	return nil
}

// start opens the stream at its first keyframe: it writes the init
// section from the keyframe's parameter sets and the audio encoder's
// configuration.
func (m *Muxer) start(nalus [][]byte, pts time.Duration) error {
	var sps, pps []byte
	for _, n := range nalus {
		switch mch264.NALUType(n[0] & 0x1f) {
		case mch264.NALUTypeSPS:
			sps = n
		case mch264.NALUTypePPS:
			pps = n
		}
	}
	if sps == nil || pps == nil {
		return fmt.Errorf("%w: keyframe without SPS and PPS", ErrBadAccessUnit)
	}
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{{
		ID:        videoTrackID,
		TimeScale: videoTimeScale,
		Codec:     &codecs.H264{SPS: append([]byte(nil), sps...), PPS: append([]byte(nil), pps...)},
	}}}
	if m.cfg.Audio != nil {
		var asc mpeg4audio.AudioSpecificConfig
		if err := asc.Unmarshal(m.cfg.Audio.Config()); err != nil {
			return fmt.Errorf("%w: audio specific config: %v", ErrBadAudio, err)
		}
		if asc.SampleRate != AudioSampleRate {
			return fmt.Errorf("%w: audio at %d Hz, not %d", ErrBadAudio, asc.SampleRate, AudioSampleRate)
		}
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{
			ID:        audioTrackID,
			TimeScale: uint32(asc.SampleRate),
			Codec:     &codecs.MPEG4Audio{Config: asc},
		})
	}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return fmt.Errorf("%w: init section: %v", ErrBadAccessUnit, err)
	}
	w := &m.w
	w.started = true
	w.startPTS, w.segStart, w.partStart = pts, pts, pts
	w.audioNext = audioTicks(pts)
	m.mu.Lock()
	m.init = buf.Bytes()
	m.t0 = m.cfg.Now().Add(-pts)
	m.notifyLocked()
	m.mu.Unlock()
	return nil
}

// WriteAudio takes 20 ms of the mix (48 kHz mono) starting at pts and
// hands it to the audio encoder. Audio before the first keyframe is
// dropped, so both media start together. An encoder error ends the
// stream.
func (m *Muxer) WriteAudio(pcm []int16, pts time.Duration) error {
	if m.Done() {
		return ErrClosed
	}
	if m.cfg.Audio == nil || !m.w.started || pts < m.w.startPTS {
		return nil
	}
	frames, err := m.cfg.Audio.Encode(pcm, pts)
	if err != nil {
		return fmt.Errorf("%w: encoder: %w", ErrBadAudio, err)
	}
	w := &m.w
	for _, f := range frames {
		t := audioTicks(f.PTS)
		if f.PTS < w.startPTS || len(f.Data) == 0 || t+aacFrameSamples/2 < w.audioNext {
			m.stats.audioDropped.Add(1)
			continue
		}
		if len(w.audio) == 0 {
			// The part's audio starts here, and the frames that follow
			// are counted from here: the first frame of a stream, which
			// may come a little after its first keyframe, lasts its
			// 1024 samples and not the time between the two.
			w.audioBase = max(t, w.audioNext)
			w.audioNext = w.audioBase
		} else if t > w.audioNext+aacFrameSamples/2 {
			// A gap in the mix: the last frame lasts until this one.
			w.audio[len(w.audio)-1].Duration += uint32(t - w.audioNext)
			w.audioNext = t
		}
		w.audio = append(w.audio, &fmp4.Sample{Duration: aacFrameSamples, Payload: append([]byte(nil), f.Data...)})
		w.audioNext += aacFrameSamples
		m.stats.audioFrames.Add(1)
		if w.cut != nil && !m.audioBehind(w.cut.end) {
			if err := m.finishCut(); err != nil {
				return err
			}
		}
	}
	return nil
}

// cutAt marks the open part to end at end (and its segment with it, with
// endSegment). The part is made when its audio reaches end too (see
// finishCut); pictures from end on wait in w.after meanwhile.
func (m *Muxer) cutAt(end time.Duration, endSegment bool) {
	m.w.cut = &cut{end: end, endSegment: endSegment}
}

// audioBehind reports whether the stream carries audio that has not yet
// reached t.
func (m *Muxer) audioBehind(t time.Duration) bool {
	return m.cfg.Audio != nil && m.w.audioNext < audioTicks(t)
}

// finishCut makes the part a cut waits for, and the pictures that waited
// start the next one.
func (m *Muxer) finishCut() error {
	w := &m.w
	c := w.cut
	w.cut = nil
	if err := m.flushPart(c.end, c.endSegment); err != nil {
		return err
	}
	w.video = append(w.video, w.after...)
	clear(w.after)
	w.after = w.after[:0]
	return nil
}

// flushPart closes the open part, which ends at end (the pts of the access
// unit that follows it), and with endSegment the open segment too.
func (m *Muxer) flushPart(end time.Duration, endSegment bool) error {
	w := &m.w
	if len(w.video) == 0 {
		return nil
	}
	frag := fmp4.Part{SequenceNumber: w.partSeq, Tracks: []*fmp4.PartTrack{{
		ID:       videoTrackID,
		BaseTime: videoTicks(w.partStart),
		Samples:  w.video,
	}}}
	if len(w.audio) > 0 {
		frag.Tracks = append(frag.Tracks, &fmp4.PartTrack{ID: audioTrackID, BaseTime: w.audioBase, Samples: w.audio})
	}
	w.buf.Reset()
	if err := frag.Marshal(&w.buf); err != nil {
		return fmt.Errorf("hls: part: %w", err)
	}
	p := &part{
		data:        append([]byte(nil), w.buf.Bytes()...),
		dur:         end - w.partStart,
		independent: !w.video[0].IsNonSyncSample,
	}
	w.partSeq++
	clear(w.video)
	clear(w.audio)
	w.video, w.audio = w.video[:0], w.audio[:0]
	w.partStart = end
	m.stats.parts.Add(1)
	m.stats.bytes.Add(uint64(len(p.data)))

	m.mu.Lock()
	defer m.mu.Unlock()
	var open *segment
	if n := len(m.segs); n > 0 && !m.segs[n-1].done {
		open = m.segs[n-1]
	} else {
		open = &segment{msn: m.nextMSN, start: w.segStart, pdt: m.t0.Add(w.segStart)}
		m.segs = append(m.segs, open)
	}
	open.parts = append(open.parts, p)
	open.size += len(p.data)
	if endSegment {
		open.done = true
		open.dur = end - open.start
		m.nextMSN++
		w.segStart = end
		m.stats.segments.Add(1)
		if extra := len(m.segs) - (m.cfg.Window + keepAfterWindow); extra > 0 {
			clear(m.segs[:extra])
			m.segs = m.segs[extra:]
		}
	}
	m.notifyLocked()
	return nil
}

// videoTicks converts a pts to the video time scale.
func videoTicks(d time.Duration) uint64 {
	return uint64(d / time.Microsecond * videoTimeScale / 1e6)
}

// audioTicks converts a pts to 48 kHz samples, to the nearest: an AAC
// frame's pts (a whole number of samples, truncated to nanoseconds) comes
// back as its sample.
func audioTicks(d time.Duration) uint64 {
	whole, rest := d/time.Second, d%time.Second
	return uint64(int64(whole)*AudioSampleRate + (int64(rest)*AudioSampleRate+int64(time.Second)/2)/int64(time.Second))
}
