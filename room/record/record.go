package record

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// A Writer records one composed meeting: at most one video track and one
// Opus audio track. It does not keep the frames and packets it is given
// once a call returns. Its methods are not safe for concurrent use, except
// Stats.
type Writer interface {
	// WriteVideo writes one encoded video frame (a VP8 frame, or an H.264
	// Annex-B access unit) at pts from the start of the recording. Frames
	// before the first keyframe are dropped and counted, and that
	// keyframe's pts becomes time 0 of the file. Whether a frame is a
	// keyframe is read from the bitstream; the keyframe argument is not
	// consulted. An empty frame (an encoder that skipped a picture) is
	// ignored.
	WriteVideo(frame []byte, keyframe bool, pts time.Duration) error
	// WriteAudio writes one Opus packet at pts; its duration comes from
	// its table-of-contents byte. With a video track, audio with a pts
	// before the first keyframe's is dropped and counted; packets that
	// arrive before the keyframe (up to a second of them) are held until
	// it comes, as they may belong after it.
	WriteAudio(packet []byte, pts time.Duration) error
	// Close finishes the file (duration, index) and closes it. It closes
	// the file even after a write error, and then returns that error.
	Close() error
	// Stats returns the writer's counters. It is safe to call from any
	// goroutine.
	Stats() Stats
}

// Stats are a Writer's counters.
type Stats struct {
	// VideoFrames and AudioPackets are the frames and packets written.
	VideoFrames, AudioPackets uint64
	// DroppedVideo counts video frames before the first keyframe;
	// DroppedAudio counts audio packets before it.
	DroppedVideo, DroppedAudio uint64
	// Clamped counts timestamps that went backwards on their track and
	// were moved to 1 ms after the previous one.
	Clamped uint64
	// Silence counts the silent Opus packets an Ogg writer inserted to
	// fill gaps in the audio timestamps (Ogg has no timestamps of its own).
	Silence uint64
	// Bytes is the size of the file so far.
	Bytes int64
	// Duration is the length recorded so far.
	Duration time.Duration
}

// Format is a container format.
type Format int

const (
	// FormatAuto lets Create and New pick the format with FormatFor.
	FormatAuto Format = iota
	// WebM is the browser subset of Matroska: VP8 video and/or Opus audio.
	WebM
	// Matroska carries H.264 (or VP8) video and/or Opus audio.
	Matroska
	// OggOpus is Opus audio in Ogg (RFC 7845), without video.
	OggOpus
)

// Extension is the file name extension for f, with its dot.
func (f Format) Extension() string {
	switch f {
	case WebM:
		return ".webm"
	case Matroska:
		return ".mkv"
	case OggOpus:
		return ".opus"
	}
	return ""
}

func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case WebM:
		return "webm"
	case Matroska:
		return "matroska"
	case OggOpus:
		return "ogg-opus"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Video codec names accepted in VideoTrack.Codec.
const (
	CodecVP8  = "vp8"
	CodecH264 = "h264"
)

// FormatFor is the format that suits a recording: WebM for VP8, Matroska
// for H.264 (WebM does not allow it), and Ogg Opus for audio only. Ogg
// Opus rather than audio-only WebM because its pages carry their own
// sample positions: a file cut short by a crash still reports its true
// length, every player and tagger for audio handles .opus, and there is
// nothing to patch on Close.
func FormatFor(videoCodec string, audioOnly bool) Format {
	if audioOnly {
		return OggOpus
	}
	if strings.EqualFold(videoCodec, CodecH264) {
		return Matroska
	}
	return WebM
}

// Options describe a recording.
type Options struct {
	// Format of the file; FormatAuto picks one with FormatFor.
	Format Format
	// Video is the video track; nil records audio only.
	Video *VideoTrack
	// Audio is the Opus track; nil records video only.
	Audio *AudioTrack
}

// VideoTrack describes the video track.
type VideoTrack struct {
	// Codec is "vp8" or "h264".
	Codec string
	// Width and Height are the picture size in pixels.
	Width, Height int
}

// AudioTrack describes the Opus track.
type AudioTrack struct {
	// SampleRate is the rate of the PCM the encoder was given (Opus always
	// decodes at 48 kHz; this is informational). 0 means 48000.
	SampleRate int
	// Channels is 1 or 2; 0 means 1.
	Channels int
	// PreSkip is the encoder's look-ahead in 48 kHz samples, which a
	// decoder discards (RFC 7845 section 4.2); 0 means 312, libopus's
	// value for its VoIP and audio applications at 48 kHz.
	PreSkip int
}

// DefaultPreSkip is libopus's look-ahead at 48 kHz: 6.5 ms.
const DefaultPreSkip = 312

// opusRate is the rate Opus timestamps and granule positions count in.
const opusRate = 48000

// validate fills in defaults and checks o. It returns a copy.
func (o Options) validate() (Options, error) {
	if o.Video == nil && o.Audio == nil {
		return o, fmt.Errorf("%w: a recording needs a video or an audio track", ErrInvalid)
	}
	if o.Video != nil {
		v := *o.Video
		v.Codec = strings.ToLower(v.Codec)
		if v.Codec != CodecVP8 && v.Codec != CodecH264 {
			return o, fmt.Errorf("%w: video codec %q (want %q or %q)", ErrInvalid, o.Video.Codec, CodecVP8, CodecH264)
		}
		if v.Width <= 0 || v.Height <= 0 || v.Width > 65535 || v.Height > 65535 {
			return o, fmt.Errorf("%w: video size %dx%d", ErrInvalid, v.Width, v.Height)
		}
		o.Video = &v
	}
	if o.Audio != nil {
		a := *o.Audio
		if a.SampleRate == 0 {
			a.SampleRate = opusRate
		}
		if a.Channels == 0 {
			a.Channels = 1
		}
		if a.PreSkip == 0 {
			a.PreSkip = DefaultPreSkip
		}
		switch a.SampleRate {
		case 8000, 12000, 16000, 24000, 48000:
		default:
			return o, fmt.Errorf("%w: opus sample rate %d Hz", ErrInvalid, a.SampleRate)
		}
		if a.Channels != 1 && a.Channels != 2 {
			return o, fmt.Errorf("%w: opus channels %d (want 1 or 2)", ErrInvalid, a.Channels)
		}
		if a.PreSkip < 0 || a.PreSkip > 65535 {
			return o, fmt.Errorf("%w: opus pre-skip %d samples", ErrInvalid, a.PreSkip)
		}
		o.Audio = &a
	}
	if o.Format == FormatAuto {
		codec := ""
		if o.Video != nil {
			codec = o.Video.Codec
		}
		o.Format = FormatFor(codec, o.Video == nil)
	}
	switch o.Format {
	case WebM:
		if o.Video != nil && o.Video.Codec != CodecVP8 {
			return o, fmt.Errorf("%w: WebM cannot carry %s video (use Matroska)", ErrInvalid, o.Video.Codec)
		}
	case Matroska:
	case OggOpus:
		if o.Video != nil || o.Audio == nil {
			return o, fmt.Errorf("%w: Ogg Opus carries audio only", ErrInvalid)
		}
	default:
		return o, fmt.Errorf("%w: format %v", ErrInvalid, o.Format)
	}
	return o, nil
}

// Create creates the file at path, mode 0644, and returns a Writer for
// it. A file already there is never overwritten: the error then matches
// fs.ErrExist. The Writer owns the file: Close syncs and closes it. If the
// header cannot be written the file is closed, left in place, and the
// error returned.
func Create(path string, opts Options) (Writer, error) {
	opts, err := opts.validate()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	return writeFile(f, opts)
}

// CreateFile returns a Writer that records into f, an open file it takes
// over: Close syncs and closes it, and so does a failure to write the
// header.
func CreateFile(f *os.File, opts Options) (Writer, error) {
	opts, err := opts.validate()
	if err != nil {
		f.Close()
		return nil, err
	}
	return writeFile(f, opts)
}

func writeFile(f *os.File, opts Options) (Writer, error) {
	w, err := newWriter(f, f.Name(), f, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// New returns a Writer that records into w, starting at w's current
// offset. Close finishes the recording and, if w can seek, patches the
// sizes, duration and index pointers in place; it does not close w.
func New(w io.WriteSeeker, opts Options) (Writer, error) {
	opts, err := opts.validate()
	if err != nil {
		return nil, err
	}
	name := "stream"
	if n, ok := w.(interface{ Name() string }); ok {
		name = n.Name()
	}
	return newWriter(w, name, nil, opts)
}

func newWriter(w io.WriteSeeker, name string, file *os.File, opts Options) (Writer, error) {
	s := newSink(w, name, file)
	// Return a nil interface, not a nil pointer in one, on failure.
	if opts.Format == OggOpus {
		o, err := newOgg(s, opts)
		if err != nil {
			return nil, err
		}
		return o, nil
	}
	m, err := newMatroska(s, opts)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// sink is the file under a Writer: it counts bytes, remembers the first
// write error, and patches earlier bytes when the file can seek.
type sink struct {
	w      io.WriteSeeker
	wa     io.WriterAt // w, if it can write at an offset without seeking
	file   *os.File    // owned by the Writer (Create), else nil
	name   string
	base   int64 // w's offset when the recording started
	pos    int64 // bytes written, relative to base
	seekOK bool
	err    error // first write error, returned from then on
	closed bool
	st     counters
}

func newSink(w io.WriteSeeker, name string, file *os.File) *sink {
	s := &sink{w: w, name: name, file: file}
	if off, err := w.Seek(0, io.SeekCurrent); err == nil {
		s.base, s.seekOK = off, true
		if wa, ok := w.(io.WriterAt); ok {
			s.wa = wa
		}
	}
	return s
}

// check returns the error a call must fail with, if any.
func (s *sink) check() error {
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return ErrClosed
	}
	return nil
}

// fail records err as the writer's write error.
func (s *sink) fail(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// The os error already names the file.
		s.err = fmt.Errorf("%w: %w", ErrWrite, err)
	} else {
		s.err = fmt.Errorf("%w: %s: %w", ErrWrite, s.name, err)
	}
	return s.err
}

// write appends b to the file with a single Write, so that a block is on
// its way to the disk as soon as it is handed over.
func (s *sink) write(b []byte) error {
	if s.err != nil {
		return s.err
	}
	n, err := s.w.Write(b)
	s.pos += int64(n)
	s.st.bytes.Store(s.pos)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return s.fail(err)
	}
	return nil
}

// patch overwrites the bytes at off (relative to the recording's start)
// with b, leaving the write offset at the end of the file.
func (s *sink) patch(off int64, b []byte) error {
	if s.err != nil {
		return s.err
	}
	if s.wa != nil {
		if _, err := s.wa.WriteAt(b, s.base+off); err != nil {
			return s.fail(err)
		}
		return nil
	}
	if _, err := s.w.Seek(s.base+off, io.SeekStart); err != nil {
		return s.fail(err)
	}
	_, err := s.w.Write(b)
	if _, serr := s.w.Seek(s.base+s.pos, io.SeekStart); err == nil {
		err = serr
	}
	if err != nil {
		return s.fail(err)
	}
	return nil
}

// close marks the sink closed and, when the Writer owns the file, syncs
// and closes it. It returns the first write error if there was one.
func (s *sink) close() error {
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	err := s.err
	if s.file != nil {
		if err == nil {
			// Pipes and some devices cannot be synced; that is no failure.
			if serr := s.file.Sync(); serr != nil && !errors.Is(serr, syscall.EINVAL) && !errors.Is(serr, syscall.ENOTSUP) {
				err = s.fail(serr)
			}
		}
		if cerr := s.file.Close(); cerr != nil && err == nil {
			err = s.fail(cerr)
		}
	}
	return err
}

// counters back Stats; they are atomic so that Stats can be read while
// another goroutine writes.
type counters struct {
	video, audio               atomic.Uint64
	droppedVideo, droppedAudio atomic.Uint64
	clamped, silence           atomic.Uint64
	bytes                      atomic.Int64
	duration                   atomic.Int64
}

func (c *counters) stats() Stats {
	return Stats{
		VideoFrames:  c.video.Load(),
		AudioPackets: c.audio.Load(),
		DroppedVideo: c.droppedVideo.Load(),
		DroppedAudio: c.droppedAudio.Load(),
		Clamped:      c.clamped.Load(),
		Silence:      c.silence.Load(),
		Bytes:        c.bytes.Load(),
		Duration:     time.Duration(c.duration.Load()),
	}
}

// clampPTS keeps a track's timestamps non-decreasing: a pts before the
// previous one becomes the previous one plus 1 ms.
func clampPTS(pts time.Duration, last *time.Duration, started *bool, c *counters) time.Duration {
	if *started && pts < *last {
		pts = *last + time.Millisecond
		c.clamped.Add(1)
	}
	*last, *started = pts, true
	return pts
}
