package record

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// crashChildEnv makes the test binary a recorder that writes in real time
// into the directory it names until it is killed.
const crashChildEnv = "TESSERA_RECORD_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		if err := crashChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashCase is one file the crash tests write.
type crashCase struct {
	name string
	opts Options
	vc   string // video codec of the content, "" for none
}

func crashCases() []crashCase {
	cs := formatCases()
	return []crashCase{{cs[0].name, cs[0].opts, "vp8"}, {cs[1].name, cs[1].opts, "h264"}, {cs[2].name, cs[2].opts, ""}}
}

// crashChild records the three formats at once, pacing the samples at
// their pts, and prints each sample's pts once every file has it.
func crashChild(dir string) error {
	audio, err := encodeContent("opus")
	if err != nil {
		return err
	}
	type rec struct {
		w       Writer
		content []sample
		next    int
	}
	var recs []rec
	for _, c := range crashCases() {
		var video []sample
		if c.vc != "" {
			if video, err = encodeContent(c.vc); err != nil {
				return err
			}
		}
		w, err := Create(filepath.Join(dir, c.name+c.opts.Format.Extension()), c.opts)
		if err != nil {
			return err
		}
		recs = append(recs, rec{w: w, content: interleave(video, audio)})
	}
	start := time.Now()
	for i := range recs[0].content { // the longest: video and audio
		pts := recs[0].content[i].pts
		time.Sleep(time.Until(start.Add(pts)))
		for j := range recs {
			r := &recs[j]
			for ; r.next < len(r.content) && r.content[r.next].pts <= pts; r.next++ {
				s := r.content[r.next]
				if s.video {
					err = r.w.WriteVideo(s.data, s.key, s.pts)
				} else {
					err = r.w.WriteAudio(s.data, s.pts)
				}
				if err != nil {
					return err
				}
			}
		}
		fmt.Fprintln(os.Stdout, int64(pts))
	}
	return fmt.Errorf("ran out of content before the kill")
}

// decodedSeconds decodes path with ffprobe and returns how many seconds of
// video and audio it holds (counting frames), or -1 for a missing stream.
// With killed set, ffprobe may say that the file ended early.
func decodedSeconds(t *testing.T, path string, killed bool) (video, audio float64) {
	t.Helper()
	r, stderr := ffprobeRaw(t, path, "-count_frames", "-show_entries", "stream=codec_type,nb_read_frames")
	if killed {
		stderr = withoutPrematureEnd(stderr)
	}
	if stderr != "" {
		t.Errorf("ffprobe %s complained:\n%s", path, stderr)
	}
	video, audio = -1, -1
	if v := r.stream("video"); v != nil {
		video = float64(atoi(t, v.NbReadFrames)) / testFPS
	}
	if a := r.stream("audio"); a != nil {
		audio = float64(atoi(t, a.NbReadFrames)) * testPacketDur.Seconds()
	}
	return video, audio
}

// checkCrashFile checks that a file abandoned after written seconds decodes
// cleanly to within 2 s of it. With killed set, the last block may be cut
// short: the kernel copies a write into the page cache a page at a time and
// gives up between pages when the process is being killed, so a block of
// several pages can be half written. Readers stop at it, and the one
// complaint allowed is ffmpeg's about the file ending early.
func checkCrashFile(t *testing.T, path string, hasVideo, killed bool, written float64) {
	t.Helper()
	v, a := decodedSeconds(t, path, killed)
	t.Logf("%s: %.2f s written, decoded video %.2f s, audio %.2f s", filepath.Base(path), written, v, a)
	got := []float64{a}
	if hasVideo {
		got = append(got, v)
	}
	for _, d := range got {
		if d < written-2 || d > written+0.5 {
			t.Errorf("%s: %.2f s readable of %.2f s written", filepath.Base(path), d, written)
		}
	}
	out := ffmpegDecode(t, path)
	if killed {
		out = withoutPrematureEnd(out)
	}
	if out != "" {
		t.Errorf("%s: ffmpeg decode errors:\n%s", filepath.Base(path), out)
	}
}

// withoutPrematureEnd drops ffmpeg's "File ended prematurely" lines.
func withoutPrematureEnd(out string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" && !strings.Contains(l, "File ended prematurely") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestCrashAbandoned writes 6 s into each format and stops without Close,
// as a killed process would: the file must read back to the end.
func TestCrashAbandoned(t *testing.T) {
	needTools(t)
	for _, c := range crashCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var video []sample
			if c.vc != "" {
				video = encoded(t, c.vc)
			}
			content := until(interleave(video, encoded(t, "opus")), 6*time.Second)
			path := filepath.Join(t.TempDir(), "abandoned"+c.opts.Format.Extension())
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close() // the file, not the Writer: it is never closed
			w, err := New(f, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			writeAll(t, w, content)
			checkCrashFile(t, path, c.vc != "", false, 6)
		})
	}
}

// TestCrashKill records in a child process in real time and kills it
// with SIGKILL after about 5 s.
func TestCrashKill(t *testing.T) {
	needTools(t)
	if testing.Short() {
		t.Skip("records for 5 s in real time")
	}
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child prints each pts once all three files have it.
	var last atomic.Int64
	last.Store(-1)
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if n, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
				if last.Swap(n) < 0 {
					close(started)
				}
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the child never started recording")
	}
	time.Sleep(5 * time.Second)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if st := cmd.ProcessState; st.Exited() {
		t.Fatalf("child exited by itself: %v", st)
	}
	written := time.Duration(last.Load()).Seconds()
	if written < 3 {
		t.Fatalf("only %.2f s written before the kill", written)
	}
	for _, c := range crashCases() {
		checkCrashFile(t, filepath.Join(dir, c.name+c.opts.Format.Extension()), c.vc != "", true, written)
	}
}
