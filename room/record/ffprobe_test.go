package record

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// needTools skips the test when ffprobe or ffmpeg is missing, unless
// TESSERA_E2E=1, which makes their absence a failure.
func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ffprobe", "ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("TESSERA_E2E") == "1" {
				t.Fatalf("%s not found and TESSERA_E2E=1: %v", tool, err)
			}
			t.Skipf("%s not installed (apt-get install ffmpeg); set TESSERA_E2E=1 to make this a failure", tool)
		}
	}
}

type probeStream struct {
	Index        int    `json:"index"`
	CodecName    string `json:"codec_name"`
	CodecType    string `json:"codec_type"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	NbReadFrames string `json:"nb_read_frames"`
}

type probePacket struct {
	StreamIndex int    `json:"stream_index"`
	PtsTime     string `json:"pts_time"`
	Flags       string `json:"flags"`
}

type probeResult struct {
	Streams []probeStream `json:"streams"`
	Packets []probePacket `json:"packets"`
	Format  struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// ffprobe runs ffprobe with args in front of the file and decodes its
// JSON. Anything it prints on stderr fails the test.
func ffprobe(t *testing.T, path string, args ...string) probeResult {
	t.Helper()
	r, stderr := ffprobeRaw(t, path, args...)
	if stderr != "" {
		t.Errorf("ffprobe %s complained:\n%s", path, stderr)
	}
	return r
}

// ffprobeRaw is ffprobe that returns the complaints instead.
func ffprobeRaw(t *testing.T, path string, args ...string) (probeResult, string) {
	t.Helper()
	cmd := exec.Command("ffprobe", append(append([]string{"-v", "error"}, args...), "-of", "json", path)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, stderr.String())
	}
	var r probeResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	return r, stderr.String()
}

// ffmpegDecode decodes every stream of path and returns what ffmpeg
// printed at -v error: nothing for a clean file.
func ffmpegDecode(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", path, err, out)
	}
	return string(out)
}

func (r probeResult) stream(typ string) *probeStream {
	for i := range r.Streams {
		if r.Streams[i].CodecType == typ {
			return &r.Streams[i]
		}
	}
	return nil
}

func (r probeResult) duration(t *testing.T) float64 {
	t.Helper()
	d, err := strconv.ParseFloat(r.Format.Duration, 64)
	if err != nil {
		t.Fatalf("ffprobe duration %q: %v", r.Format.Duration, err)
	}
	return d
}

func parseFloat(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return f
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return n
}
