package record

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

var errDiskFull = errors.New("test: disk full")

// failingFile accepts limit bytes, then fails every write. It counts the
// writes that reach it.
type failingFile struct {
	memFile
	limit  int
	writes int
}

func (f *failingFile) Name() string { return "/recordings/failing.webm" }

func (f *failingFile) Write(p []byte) (int, error) {
	f.writes++
	if room := f.limit - len(f.b); len(p) > room {
		n, _ := f.memFile.Write(p[:max(room, 0)])
		return n, errDiskFull
	}
	return f.memFile.Write(p)
}

// TestWriteError: the first failed write comes back wrapped, with the file
// name, and every later call returns it without touching the file.
func TestWriteError(t *testing.T) {
	if w, err := New(&failingFile{limit: 10}, avOptions); w != nil || !errors.Is(err, errDiskFull) {
		t.Errorf("New when the header cannot be written: %v, %v", w, err)
	}
	for _, c := range formatCases()[:3] {
		t.Run(c.name, func(t *testing.T) {
			f := &failingFile{limit: 20000}
			w, err := New(f, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			var werr error
			for _, s := range c.content(t) {
				if s.video {
					werr = w.WriteVideo(s.data, s.key, s.pts)
				} else {
					werr = w.WriteAudio(s.data, s.pts)
				}
				if werr != nil {
					break
				}
			}
			if werr == nil {
				t.Fatal("no error although the file stopped taking data")
			}
			if !errors.Is(werr, errDiskFull) || !errors.Is(werr, ErrWrite) {
				t.Errorf("error %q does not wrap the cause and ErrWrite", werr)
			}
			if !strings.Contains(werr.Error(), f.Name()) {
				t.Errorf("error %q does not name the file", werr)
			}
			writes := f.writes
			for range 3 {
				if err := w.WriteAudio([]byte{0xf8, 0xff, 0xfe}, time.Hour); err != werr {
					t.Errorf("WriteAudio after the error: %v, want the same error", err)
				}
				if c.opts.Video != nil {
					if err := w.WriteVideo([]byte{0, 1, 2}, true, time.Hour); err != werr {
						t.Errorf("WriteVideo after the error: %v, want the same error", err)
					}
				}
			}
			if err := w.Close(); err != werr {
				t.Errorf("Close: %v, want the write error", err)
			}
			if f.writes != writes {
				t.Errorf("%d more writes after the error", f.writes-writes)
			}
		})
	}
}

// TestDiskFull records onto /dev/full, which fails every write with
// ENOSPC: Create fails for a format that writes its header at once, and
// an H.264 recording fails on its first keyframe.
func TestDiskFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	full := func() *os.File {
		f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if _, err := Create("/dev/full", avOptions); !errors.Is(err, os.ErrExist) {
		t.Errorf("Create over an existing file: %v, want it refused", err)
	}
	w, err := CreateFile(full(), avOptions)
	if w != nil {
		t.Errorf("Create on /dev/full returned a Writer (%T) with the error", w)
	}
	if !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, ErrWrite) || !strings.Contains(err.Error(), "/dev/full") {
		t.Errorf("Create WebM on /dev/full: %v", err)
	}
	w, err = CreateFile(full(), Options{Video: &VideoTrack{Codec: "h264", Width: testW, Height: testH}})
	if err != nil {
		t.Fatal(err)
	}
	video := encoded(t, "h264")
	err = w.WriteVideo(video[0].data, true, 0)
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "/dev/full") {
		t.Errorf("first keyframe on /dev/full: %v", err)
	}
	if err2 := w.WriteVideo(video[1].data, false, time.Second/15); err2 != err {
		t.Errorf("second write: %v, want %v", err2, err)
	}
	if cerr := w.Close(); cerr != err {
		t.Errorf("Close: %v, want %v", cerr, err)
	}
	if m := w.(*matroska); m.s.file != nil {
		if _, serr := m.s.file.Stat(); !errors.Is(serr, os.ErrClosed) {
			t.Errorf("file not closed after Close: %v", serr)
		}
	}
}

func TestInvalid(t *testing.T) {
	video := &VideoTrack{Codec: "vp8", Width: 320, Height: 180}
	bad := []Options{
		{},
		{Format: WebM, Video: &VideoTrack{Codec: "h264", Width: 320, Height: 180}},
		{Format: WebM, Video: &VideoTrack{Codec: "av1", Width: 320, Height: 180}},
		{Video: &VideoTrack{Codec: "vp8"}},
		{Format: OggOpus, Video: video, Audio: &AudioTrack{}},
		{Format: OggOpus, Video: video},
		{Audio: &AudioTrack{Channels: 3}},
		{Audio: &AudioTrack{SampleRate: 44100}},
		{Format: Format(42), Audio: &AudioTrack{}},
	}
	for _, o := range bad {
		if _, err := New(&memFile{}, o); !errors.Is(err, ErrInvalid) {
			t.Errorf("New(%+v): %v, want ErrInvalid", o, err)
		}
	}
	if _, err := Create(t.TempDir()+"/no/such/dir.webm", avOptions); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Create in a missing directory: %v", err)
	}

	w, err := New(&memFile{}, Options{Audio: &AudioTrack{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteVideo([]byte{0}, true, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("video into an audio-only recording: %v", err)
	}
	w, err = New(&memFile{}, Options{Video: &VideoTrack{Codec: "h264", Width: 2, Height: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteVideo([]byte{1, 2, 3, 4}, true, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("H.264 without start codes: %v", err)
	}
	if err := w.WriteAudio([]byte{0xf8}, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("audio into a video-only recording: %v", err)
	}
	// Bad input is not a write error: the recording goes on.
	if err := w.WriteVideo(encoded(t, "h264")[0].data, true, 0); err != nil {
		t.Errorf("keyframe after bad input: %v", err)
	}
}

func TestFormatFor(t *testing.T) {
	cases := []struct {
		codec     string
		audioOnly bool
		want      Format
		ext       string
	}{
		{"vp8", false, WebM, ".webm"},
		{"h264", false, Matroska, ".mkv"},
		{"H264", false, Matroska, ".mkv"},
		{"vp8", true, OggOpus, ".opus"},
		{"", true, OggOpus, ".opus"},
	}
	for _, c := range cases {
		if got := FormatFor(c.codec, c.audioOnly); got != c.want || got.Extension() != c.ext {
			t.Errorf("FormatFor(%q, %v) = %v %q, want %v %q", c.codec, c.audioOnly, got, got.Extension(), c.want, c.ext)
		}
	}
	// FormatAuto resolves the same way.
	mf := &memFile{}
	if _, err := New(mf, Options{Audio: &AudioTrack{}}); err != nil || !strings.HasPrefix(string(mf.b), "OggS") {
		t.Errorf("auto audio-only: %v, file starts %q", err, mf.b[:min(4, len(mf.b))])
	}
}
