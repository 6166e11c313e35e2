package room

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tessera-mcu/tessera/mixer"
	"github.com/tessera-mcu/tessera/room/record"
)

// RecordOptions configures a recording.
type RecordOptions struct {
	// Dir is the folder the file goes to (created if missing).
	Dir string
	// Name is the file name without extension; empty uses Template.
	Name string
	// Template names the file when Name is empty: {room} and {time}
	// (UTC, 20060102-150405) are replaced. Default "room-{room}-{time}".
	Template string
	// VideoCodec of the recording: "vp8" (WebM) or "h264" (Matroska).
	// Default vp8, the format every browser plays.
	VideoCodec string
	// MinFree is the free space, in bytes, Dir's file system must keep: a
	// recording does not start below it, and one running stops cleanly
	// (the file is finished) when the space falls below it (0: no floor).
	MinFree int64

	// create makes the file's writer (nil: record.Create); tests put a
	// failing disk behind it.
	create func(path string, opts record.Options) (record.Writer, error)
}

// RecordingInfo describes a recording in progress or just finished.
type RecordingInfo struct {
	Path      string    `json:"path"`
	Started   time.Time `json:"started"`
	Recording bool      `json:"recording"`
	Video     bool      `json:"video"`
}

// recordQueueLen bounds the frames waiting for the disk: about 5 s of
// audio and video.
const recordQueueLen = 512

type recItem struct {
	video    bool
	data     []byte
	keyframe bool
	pts      time.Duration
}

// recorder writes a room's composite and full mix to a file. The room
// goroutine feeds it; a goroutine of its own writes, so a slow disk never
// stalls the tick.
type recorder struct {
	info  RecordingInfo
	w     record.Writer
	key   outputKey // video output it records (if info.Video)
	start time.Time
	// origin is the room-clock time (since the room started) the file's
	// time 0 stands for: the next audio or video tick, whichever is first,
	// so that the first frames, the forced keyframe among them, are never
	// stamped before the recording began.
	origin time.Duration
	// needKey: a composite frame was dropped (queue full); the file takes
	// no more until a keyframe (room goroutine).
	needKey bool
	q       chan recItem
	done    chan struct{}
	failed  atomic.Bool
	dropped atomic.Uint64
	// dir and minFree: the file system whose free space is watched (see
	// RecordOptions.MinFree).
	dir     string
	minFree int64
	// reason the recording ended, set before q closes.
	reason string
	// count is the manager's media counters.
	count *counters
}

// diskCheckEvery is how often a running recording checks the free space
// under its file against its floor.
const diskCheckEvery = 2 * time.Second

func expandTemplate(tmpl string, id RoomID, now time.Time) string {
	if tmpl == "" {
		tmpl = "room-{room}-{time}"
	}
	r := strings.NewReplacer("{room}", id.String(), "{time}", now.UTC().Format("20060102-150405"))
	return r.Replace(tmpl)
}

// checkRecordName refuses a file name that is not a plain, visible name
// in the recording folder: a path, or a name starting with a dot (".",
// "..", a hidden file).
func checkRecordName(name string) error {
	if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("%w: file name %q (a plain name without folders, not starting with a dot)", ErrInvalidValue, name)
	}
	return nil
}

// CheckRecordTemplate reports whether a file name template (see
// RecordOptions.Template) makes names StartRecording accepts.
func CheckRecordTemplate(tmpl string) error {
	return checkRecordName(expandTemplate(tmpl, 1, time.Now()))
}

// StartRecording records the room's composite (when it has video) and its
// full mix until StopRecording or the room ends. A file already there is
// never overwritten: the name gets a numbered suffix. The file is created
// off the room's tick (a slow disk never stalls the meeting); a failure is
// logged and told to the room as well as returned.
func (r *Room) StartRecording(ctx context.Context, o RecordOptions) (RecordingInfo, error) {
	if o.VideoCodec == "" {
		o.VideoCodec = CodecVP8
	}
	if o.VideoCodec != CodecVP8 && o.VideoCodec != CodecH264 {
		return RecordingInfo{}, fmt.Errorf("%w: recording codec %q", ErrInvalidValue, o.VideoCodec)
	}
	name := o.Name
	if name == "" {
		name = expandTemplate(o.Template, r.id, time.Now())
	}
	if err := checkRecordName(name); err != nil {
		return RecordingInfo{}, err
	}
	opts := record.Options{Audio: &record.AudioTrack{SampleRate: mixer.SampleRate, Channels: 1}}
	if r.video != nil {
		opts.Video = &record.VideoTrack{Codec: o.VideoCodec, Width: r.video.cfg.Tiers[0].Width, Height: r.video.cfg.Tiers[0].Height}
	}
	opts.Format = record.FormatFor(o.VideoCodec, opts.Video == nil)

	// Claim a recording on the server, and the room's recorder slot,
	// then make the file outside the tick. The claim is not cancellable:
	// one made after the caller gave up waiting would hold the slot for
	// good.
	if !r.takeRecorder() {
		return RecordingInfo{}, fmt.Errorf("%w: at most %d at once", ErrTooManyRecordings, r.mgr.limits.MaxRecordings)
	}
	running := false // the recorder's goroutine gives the claim back
	defer func() {
		if !running {
			r.releaseRecorder()
		}
	}()
	var err error
	if xerr := r.exec(context.WithoutCancel(ctx), func() {
		if r.rec != nil || r.recStarting {
			err = ErrAlreadyRecording
			return
		}
		r.recStarting = true
	}); xerr != nil {
		return RecordingInfo{}, xerr
	}
	if err != nil {
		return RecordingInfo{}, err
	}
	w, path, err := createRecording(o, name, opts)
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrRecording, err)
		r.log.Error("cannot start recording; the meeting goes on", "dir", o.Dir, "name", name, "err", err)
		_ = r.exec(context.WithoutCancel(ctx), func() {
			r.recStarting = false
			r.publish(Event{Kind: EventRecording, Recording: false, Reason: "error: " + err.Error()})
		})
		return RecordingInfo{}, err
	}

	var info RecordingInfo
	started := false // the recorder (or the failure below) owns w
	xerr := r.exec(context.WithoutCancel(ctx), func() {
		started = true
		r.recStarting = false
		rec := &recorder{w: w, start: time.Now(), q: make(chan recItem, recordQueueLen), done: make(chan struct{}), count: r.count,
			info: RecordingInfo{Path: path, Recording: true, Video: opts.Video != nil}, dir: o.Dir, minFree: o.MinFree}
		rec.info.Started = rec.start
		rec.origin = time.Duration(r.frames) * tick
		if r.video != nil {
			rec.origin = min(rec.origin, time.Duration(r.vframes)*r.video.period())
		}
		if opts.Video != nil {
			// The recorder is one more viewer of the composite at the top
			// tier: an encoder that already runs for live viewers is
			// reused, and the recording starts on a fresh keyframe.
			rec.key = outputKey{codec: o.VideoCodec, tier: 0}
			vo, oerr := r.video.output(rec.key)
			if oerr != nil {
				w.Close()
				err = fmt.Errorf("%w: %w", ErrRecording, oerr)
				return
			}
			vo.viewers++
			vo.requestKeyframe(keyframeNow) // the file starts on this keyframe
		}
		r.rec = rec
		r.recordingOn.Store(true)
		running = true
		go rec.run(r)
		info = rec.info
		r.publish(Event{Kind: EventRecording, Recording: true, Path: path})
	})
	if xerr != nil {
		if !started {
			w.Close() // the room ended before the recorder could start
		}
		return RecordingInfo{}, xerr
	}
	if err != nil {
		return RecordingInfo{}, err
	}
	r.log.Info("recording started", "path", path)
	return info, nil
}

// createRecording creates the file name (plus the format's extension) in
// o.Dir, or name-2, name-3 ... if that exists.
func createRecording(o RecordOptions, name string, opts record.Options) (record.Writer, string, error) {
	dir, create := o.Dir, o.create
	if create == nil {
		create = record.Create
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	if err := checkFree(dir, o.MinFree); err != nil {
		return nil, "", err
	}
	for i := 1; i <= 100; i++ {
		base := name
		if i > 1 {
			base = fmt.Sprintf("%s-%d", name, i)
		}
		path := filepath.Join(dir, base+opts.Format.Extension())
		w, err := create(path, opts)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return w, path, err
	}
	return nil, "", fmt.Errorf("%s: 100 files of that name exist", filepath.Join(dir, name))
}

// StopRecording finishes the recording and returns its description.
func (r *Room) StopRecording(ctx context.Context) (RecordingInfo, error) {
	var rec *recorder
	if err := r.exec(ctx, func() { rec = r.detachRecorder("stopped") }); err != nil {
		return RecordingInfo{}, err
	}
	if rec == nil {
		return RecordingInfo{}, ErrNotRecording
	}
	<-rec.done
	info := rec.info
	info.Recording = false
	st := rec.w.Stats()
	r.log.Info("recording stopped", "path", info.Path, "duration", st.Duration, "video_frames", st.VideoFrames,
		"audio_packets", st.AudioPackets, "waited_for_keyframe", st.DroppedVideo, "clamped", st.Clamped,
		"queue_dropped", rec.dropped.Load())
	return info, nil
}

// Recording returns the recording in progress, if any.
func (r *Room) Recording(ctx context.Context) (RecordingInfo, bool, error) {
	var info RecordingInfo
	var on bool
	err := r.exec(ctx, func() {
		if r.rec != nil {
			info, on = r.rec.info, true
		}
	})
	return info, on, err
}

// detachRecorder ends the recording on the room goroutine: no more frames
// are queued and the writer goroutine finishes the file.
func (r *Room) detachRecorder(reason string) *recorder {
	rec := r.rec
	if rec == nil {
		return nil
	}
	r.rec = nil
	r.recordingOn.Store(false)
	rec.reason = reason
	if rec.info.Video && r.video != nil {
		r.video.release(rec.key)
	}
	close(rec.q)
	r.publish(Event{Kind: EventRecording, Recording: false, Path: rec.info.Path, Reason: reason})
	return rec
}

// recordAudio queues the full mix's packet of this tick.
func (r *Room) recordAudio(packet []byte) {
	if r.rec == nil || packet == nil {
		return
	}
	pts := time.Duration(r.frames)*tick - r.rec.origin
	r.rec.push(recItem{data: packet, pts: pts})
}

// recordVideo queues a composite frame of the recorded output.
func (r *Room) recordVideo(key outputKey, data []byte, keyframe bool, now time.Time) {
	if r.rec == nil || !r.rec.info.Video || key != r.rec.key {
		return
	}
	rec := r.rec
	if rec.needKey && !keyframe {
		return // after a lost frame, nothing decodes until a keyframe
	}
	rec.needKey = false
	// The composite is in step with the mix already (see syncPictures).
	pts := time.Duration(r.vframes)*r.video.period() - rec.origin
	if !rec.push(recItem{video: true, data: data, keyframe: keyframe, pts: pts}) {
		// A lost frame breaks the recording's picture until the next
		// keyframe: frames are left out until then.
		rec.needKey = true
		r.video.outputs[key].requestKeyframe(keyframeInterval)
	}
}

func (rec *recorder) push(it recItem) bool {
	if rec.failed.Load() {
		return true
	}
	select {
	case rec.q <- it:
		return true
	default:
		rec.dropped.Add(1)
		rec.count.recordDropped.Add(1)
		return false
	}
}

// fail ends the recording on an error: nothing more is written, and the
// room detaches the recorder and tells everyone why.
func (rec *recorder) fail(r *Room, err error, msg string) {
	rec.failed.Store(true)
	r.log.Error(msg, "path", rec.info.Path, "err", err)
	r.post(func() {
		if r.rec == rec {
			r.detachRecorder("error: " + err.Error())
		}
	})
}

// run writes queued frames until the queue closes or the disk fails. The
// room queues a tick's mix packet and composite frame in tick order, but
// the mix packet of a tick may be stamped up to one audio frame earlier
// than a composite frame queued before it; frames are therefore held until
// the mix has caught up with them, so the file is written in timestamp
// order (a cluster that starts at a keyframe never receives an older
// audio block).
func (rec *recorder) run(r *Room) {
	defer close(rec.done)
	defer r.releaseRecorder()
	var (
		werr error
		held []recItem // composite frames waiting for the mix
		// written is the file's size the counters know of.
		written int64
	)
	checked := time.Now()
	counted := func() {
		n := rec.w.Stats().Bytes
		rec.count.recordedBytes.Add(uint64(max(n-written, 0)))
		written = max(n, written)
	}
	write := func(it recItem) {
		if werr != nil || it.pts < 0 {
			return // failed, or from before the recording started
		}
		if rec.minFree > 0 && time.Since(checked) >= diskCheckEvery {
			checked = time.Now()
			if werr = checkFree(rec.dir, rec.minFree); werr != nil {
				// What is written stays playable: the file is
				// finished below as on a stop.
				rec.fail(r, werr, "recording stopped: disk space low; the meeting goes on")
				return
			}
		}
		if it.video {
			werr = rec.w.WriteVideo(it.data, it.keyframe, it.pts)
		} else {
			werr = rec.w.WriteAudio(it.data, it.pts)
		}
		counted()
		if werr != nil {
			rec.count.recordErrors.Add(1)
			rec.fail(r, werr, "recording failed; the meeting goes on")
		}
	}
	for it := range rec.q {
		if it.video {
			held = append(held, it)
			if len(held) > 32 { // no mix for a second: do not wait forever
				write(held[0])
				held = held[1:]
			}
			continue
		}
		for len(held) > 0 && held[0].pts <= it.pts {
			write(held[0])
			held = held[1:]
		}
		write(it)
	}
	for _, it := range held {
		write(it)
	}
	if err := rec.w.Close(); err != nil && werr == nil {
		rec.count.recordErrors.Add(1)
		r.log.Error("finishing recording", "path", rec.info.Path, "err", err)
	}
	counted()
	rec.finished(r)
}
