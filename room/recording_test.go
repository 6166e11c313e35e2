package room

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/mixer"
	"github.com/tessera-mcu/tessera/room/record"
)

// needFFmpeg skips without ffmpeg/ffprobe unless TESSERA_E2E=1 (the test
// script), where their absence is a failure.
func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("TESSERA_E2E") == "1" {
				t.Fatalf("%s missing: %v", tool, err)
			}
			t.Skipf("%s missing; scripts/test.sh installs it", tool)
		}
	}
}

type probe struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		CodecType string `json:"codec_type"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
		StartTime string `json:"start_time"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func ffprobe(t *testing.T, path string) probe {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries",
		"stream=codec_name,codec_type,width,height,start_time:format=duration", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p probe) duration() float64 { d, _ := strconv.ParseFloat(p.Format.Duration, 64); return d }

func (p probe) codecs() string {
	var c []string
	for _, s := range p.Streams {
		c = append(c, s.CodecName)
	}
	return strings.Join(c, ",")
}

// decodeClean decodes the whole file and fails on any error ffmpeg prints.
func decodeClean(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("ffmpeg decoding %s: %v\n%s", filepath.Base(path), err, out)
	}
}

func recordFor(t *testing.T, r *Room, o RecordOptions, d time.Duration) RecordingInfo {
	t.Helper()
	info, err := r.StartRecording(ctxT(t), o)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	done, err := r.StopRecording(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if done.Path != info.Path {
		t.Fatalf("stopped %s, started %s", done.Path, info.Path)
	}
	if keep := os.Getenv("TESSERA_KEEP_RECORDINGS"); keep != "" {
		// Keep a copy to look at (or play) after the test.
		if b, err := os.ReadFile(done.Path); err == nil {
			_ = os.WriteFile(filepath.Join(keep, t.Name()+filepath.Ext(done.Path)), b, 0o644)
		}
	}
	return done
}

// Record 15 s of a room with two participants, through a join, a layout
// change, a leave and keyframe requests: the WebM has VP8 at the top
// tier's size and Opus, lasts 15 s, and decodes without an error. A second
// recording under the same name never overwrites the first.
func TestRecordComposedMeeting(t *testing.T) {
	needFFmpeg(t)
	m := newManager(t)
	r, _ := m.Create(Config{ID: 31})
	join(t, r, "alice", testpeer.Options{ToneHz: 440, Video: "vp8", VideoColor: red})
	bob := join(t, r, "bob", testpeer.Options{ToneHz: 660, Video: "h264", VideoColor: green})
	dir := t.TempDir()
	o := RecordOptions{Dir: dir, Template: "meeting-{room}"}
	info, err := r.StartRecording(ctxT(t), o)
	if err != nil {
		t.Fatal(err)
	}
	steps := []func(){
		func() { join(t, r, "carol", testpeer.Options{ToneHz: 990, Video: "vp8", VideoColor: blue}) },
		func() { _ = r.SetLayout(ctxT(t), mixer.LayoutSpeaker, 0) },
		func() { _ = bob.peer.RequestKeyframe() },
		func() { _ = r.Leave(ctxT(t), bob.id) },
		func() { _ = r.SetLayout(ctxT(t), mixer.LayoutGrid, 0) },
	}
	for _, step := range steps {
		time.Sleep(2500 * time.Millisecond)
		step()
	}
	time.Sleep(15*time.Second - time.Since(info.Started))
	if _, err := r.StopRecording(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if filepath.Base(info.Path) != "meeting-31.webm" {
		t.Errorf("file %s", info.Path)
	}
	p := ffprobe(t, info.Path)
	t.Logf("ffprobe: streams %s, duration %.2f s", p.codecs(), p.duration())
	if p.codecs() != "vp8,opus" || p.Streams[0].Width != 1280 || p.Streams[0].Height != 720 {
		t.Errorf("streams %+v", p.Streams)
	}
	if d := p.duration(); math.Abs(d-15) > 0.5 {
		t.Errorf("duration %.2f s, want 15 ± 0.5", d)
	}
	decodeClean(t, info.Path)

	again := recordFor(t, r, o, time.Second)
	if filepath.Base(again.Path) != "meeting-31-2.webm" {
		t.Errorf("second recording of the same name went to %s", again.Path)
	}
	if p := ffprobe(t, info.Path); math.Abs(p.duration()-15) > 0.5 {
		t.Errorf("the first recording changed: %.2f s", p.duration())
	}
}

func TestRecordH264Matroska(t *testing.T) {
	needFFmpeg(t)
	m := newManager(t)
	// One tier, so that the live viewer cannot move away from the tier the
	// recording shares with it.
	r, _ := m.Create(Config{Video: VideoConfig{Tiers: []Tier{{1280, 720, 1_500_000}}}})
	join(t, r, "cam", testpeer.Options{ToneHz: 440, Video: "vp8", VideoColor: blue})
	// A live H.264 viewer: the recording reuses its encoder.
	join(t, r, "viewer", testpeer.Options{Video: "h264", RecvOnly: true})
	info := recordFor(t, r, RecordOptions{Dir: t.TempDir(), Name: "h264", VideoCodec: CodecH264}, 6*time.Second)
	p := ffprobe(t, info.Path)
	t.Logf("ffprobe: streams %s, duration %.2f s", p.codecs(), p.duration())
	if filepath.Ext(info.Path) != ".mkv" || p.codecs() != "h264,opus" {
		t.Errorf("%s: streams %s", info.Path, p.codecs())
	}
	if d := p.duration(); math.Abs(d-6) > 0.5 {
		t.Errorf("duration %.2f s, want 6 ± 0.5", d)
	}
	decodeClean(t, info.Path)
	st, _ := r.Stats(ctxT(t))
	for _, o := range st.VideoOutputs {
		if o.Codec == CodecH264 && o.Tier == 0 && o.Viewers != 1 {
			t.Errorf("after the recording, h264/0 has %d viewers, want the live one", o.Viewers)
		}
	}
	if n := len(st.VideoOutputs); n != 2 {
		t.Errorf("%d encoders for one live viewer and one recording of the same codec and tier", n)
	}
}

// A/V sync: a white flash and a beep sent together once a second are
// within 80 ms of each other in the recording. One pair may be further
// apart: a hiccup of the sender (its audio clock skips frames when the
// machine is busy) drains the voice's jitter buffer for a moment, which no
// receiver can tell from the room's fault; broken sync shows in every pair.
func TestRecordLipSync(t *testing.T) {
	needFFmpeg(t)
	m := newManager(t)
	r, _ := m.Create(Config{Video: VideoConfig{NoPlaceholders: true}})
	join(t, r, "flash", testpeer.Options{Flash: true, Video: "vp8", VideoFPS: 30})
	info := recordFor(t, r, RecordOptions{Dir: t.TempDir(), Name: "sync"}, 6*time.Second)
	p := ffprobe(t, info.Path)
	var vStart, aStart float64
	for _, s := range p.Streams {
		st, _ := strconv.ParseFloat(s.StartTime, 64)
		if s.CodecType == "video" {
			vStart = st
		} else {
			aStart = st
		}
	}
	flashes := flashTimes(t, info.Path)
	beeps := beepTimes(t, info.Path, aStart)
	t.Logf("video starts %.3f s, audio %.3f s; flashes %v; beeps %v", vStart, aStart, flashes, beeps)
	if raceEnabled {
		return // see raceEnabled
	}
	if len(flashes) < 3 || len(beeps) < 3 {
		t.Fatalf("found %d flashes and %d beeps in 6 s", len(flashes), len(beeps))
	}
	var pairs, apart int
	var worst string
	for _, f := range flashes {
		best := math.Inf(1)
		for _, b := range beeps {
			if math.Abs(b-f) < math.Abs(best) {
				best = b - f
			}
		}
		if math.Abs(best) > 0.5 {
			continue // an unpaired edge event
		}
		pairs++
		at := info.Started.Add(time.Duration(f * float64(time.Second)))
		limit := allowed(80*time.Millisecond, at.Add(-time.Second), at.Add(time.Second/2))
		t.Logf("flash at %.3f s, beep %+.0f ms (limit %v)", f, best*1000, limit)
		if math.Abs(best) > limit.Seconds() {
			apart++
			worst = fmt.Sprintf("flash at %.3f s and its beep are %.0f ms apart (limit %v)", f, best*1000, limit)
		}
	}
	if pairs < 3 {
		t.Errorf("only %d flash/beep pairs", pairs)
	}
	if apart > 1 || (apart == 1 && pairs < 4) {
		t.Errorf("%d of %d pairs out of sync; %s", apart, pairs, worst)
	}
}

// flashTimes decodes the video at 100 fps (constant frame rate on the
// recording's timeline) and returns when the picture turns bright.
func flashTimes(t *testing.T, path string) []float64 {
	t.Helper()
	const fps = 100
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-vf", "scale=16:9,format=gray",
		"-fps_mode", "cfr", "-r", strconv.Itoa(fps), "-f", "rawvideo", "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	var times []float64
	bright := false
	for i := 0; (i+1)*144 <= len(out); i++ {
		sum := 0
		for _, v := range out[i*144 : (i+1)*144] {
			sum += int(v)
		}
		now := sum/144 > 100
		if now && !bright {
			times = append(times, float64(i)/fps)
		}
		bright = now
	}
	return times
}

// beepTimes decodes the audio and returns beep onsets (5 ms resolution).
func beepTimes(t *testing.T, path string, start float64) []float64 {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "s16le", "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	const win = 240
	var times []float64
	loud := false
	for i := 0; (i+1)*win*2 <= len(out); i++ {
		var sum float64
		for k := range win {
			v := float64(int16(binary.LittleEndian.Uint16(out[(i*win+k)*2:])))
			sum += v * v
		}
		now := math.Sqrt(sum/win) > 3000
		if now && !loud {
			times = append(times, start+float64(i*win)/48000)
		}
		loud = now
	}
	return times
}

// kill -9 during a recording leaves a file ffmpeg reads to within 2 s of
// the kill. The recording runs in a child process (this test binary
// re-executed), which is killed.
func TestRecordSurvivesKill9(t *testing.T) {
	needFFmpeg(t)
	if os.Getenv("TESSERA_RECORD_CHILD") != "" {
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRecordChildProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "TESSERA_RECORD_CHILD="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the child to report that recording started.
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "RECORDING") {
				close(ready)
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var started time.Time
	select {
	case <-ready:
		started = time.Now()
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("child did not start recording")
	}
	time.Sleep(6 * time.Second)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	written := time.Since(started).Seconds()
	files, _ := filepath.Glob(filepath.Join(dir, "*.webm"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	// How much ffmpeg can read: the last timestamp it decodes.
	res, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "packet=pts_time", "-of", "csv=p=0", files[0]).Output()
	if err != nil {
		t.Fatalf("ffprobe of the killed recording: %v", err)
	}
	last := 0.0
	for _, l := range strings.Fields(string(res)) {
		if v, err := strconv.ParseFloat(strings.TrimSuffix(l, ","), 64); err == nil {
			last = max(last, v)
		}
	}
	t.Logf("killed after %.1f s of recording; readable to %.2f s", written, last)
	if last < written-2 {
		t.Errorf("readable to %.2f s of %.1f s written", last, written)
	}
	decodeClean(t, files[0])
}

// TestRecordChildProcess is the process TestRecordSurvivesKill9 kills.
func TestRecordChildProcess(t *testing.T) {
	dir := os.Getenv("TESSERA_RECORD_CHILD")
	if dir == "" {
		t.Skip("runs only as the child of TestRecordSurvivesKill9")
	}
	m := newManager(t)
	r, _ := m.Create(Config{})
	join(t, r, "cam", testpeer.Options{ToneHz: 440, Video: "vp8", VideoColor: red})
	if _, err := r.StartRecording(ctxT(t), RecordOptions{Dir: dir, Name: "killed"}); err != nil {
		t.Fatal(err)
	}
	fmt.Println("RECORDING")
	time.Sleep(time.Minute)
}

// A folder that cannot be written: the request fails with an error, the
// room is told, the meeting goes on.
func TestRecordUnwritableFolder(t *testing.T) {
	m := newManager(t)
	r, _ := m.Create(Config{})
	sub := r.Subscribe(0)
	defer sub.Close()
	a := join(t, r, "a", testpeer.Options{ToneHz: 440})
	b := join(t, r, "b", testpeer.Options{ToneHz: 660})
	// A regular file where the folder should be: not writable even as root.
	blocker := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	_, err := r.StartRecording(ctxT(t), RecordOptions{Dir: filepath.Join(blocker, "recordings")})
	if !errors.Is(err, ErrRecording) {
		t.Fatalf("err = %v, want ErrRecording", err)
	}
	told := false
	for deadline := time.After(5 * time.Second); !told; {
		select {
		case e := <-sub.C:
			told = e.Kind == EventRecording && !e.Recording && strings.Contains(e.Reason, "not a directory")
		case <-deadline:
			t.Fatal("the room was not told the recording failed")
		}
	}
	if !hears(a.peer, 660) || !hears(b.peer, 440) {
		t.Error("the meeting stopped after a failed recording")
	}
	if _, on, _ := r.Recording(ctxT(t)); on {
		t.Error("recording reported as running")
	}
}

// The disk fills during a recording: the recording stops with an error
// event, the meeting goes on.
func TestRecordDiskFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	m := newManager(t)
	r, _ := m.Create(Config{})
	sub := r.Subscribe(0)
	defer sub.Close()
	a := join(t, r, "a", testpeer.Options{ToneHz: 440, Video: "h264", VideoColor: red})
	b := join(t, r, "b", testpeer.Options{ToneHz: 660})
	// Every write to the file fails with ENOSPC. (H.264 recordings write
	// their header at the first keyframe, so the failure comes mid-way.)
	o := RecordOptions{Dir: t.TempDir(), Name: "full", VideoCodec: CodecH264,
		create: func(_ string, opts record.Options) (record.Writer, error) {
			f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
			if err != nil {
				return nil, err
			}
			return record.CreateFile(f, opts)
		}}
	if _, err := r.StartRecording(ctxT(t), o); err != nil {
		if !errors.Is(err, ErrRecording) {
			t.Fatalf("start: %v", err)
		}
		t.Logf("the failure came at the start: %v", err)
	} else {
		deadline := time.After(10 * time.Second)
		for stopped := false; !stopped; {
			select {
			case e := <-sub.C:
				if e.Kind == EventRecording && !e.Recording {
					stopped = true
					t.Logf("recording stopped: %s", e.Reason)
					if !strings.Contains(e.Reason, "error") {
						t.Errorf("stop reason %q does not report the error", e.Reason)
					}
				}
			case <-deadline:
				t.Fatal("no recording-stopped event after the disk filled")
			}
		}
	}
	if !hears(a.peer, 660) || !hears(b.peer, 440) {
		t.Error("the meeting stopped with the disk full")
	}
	if _, on, _ := r.Recording(ctxT(t)); on {
		t.Error("recording still reported as running")
	}
}

// An audio-only room records an audio-only file.
func TestRecordAudioOnlyRoom(t *testing.T) {
	needFFmpeg(t)
	m := newManager(t)
	r, _ := m.Create(Config{Video: VideoConfig{Disabled: true}})
	join(t, r, "a", testpeer.Options{ToneHz: 440})
	info := recordFor(t, r, RecordOptions{Dir: t.TempDir(), Name: "voice"}, 4*time.Second)
	p := ffprobe(t, info.Path)
	t.Logf("%s: streams %s, duration %.2f s", filepath.Base(info.Path), p.codecs(), p.duration())
	if p.codecs() != "opus" || math.Abs(p.duration()-4) > 0.5 {
		t.Errorf("streams %s, duration %.2f", p.codecs(), p.duration())
	}
	decodeClean(t, info.Path)
}
