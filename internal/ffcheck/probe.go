package ffcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// Check reports (wrapping ErrMissing) whether ffmpeg and ffprobe are
// installed.
func Check() error {
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%w: %s (apt-get install ffmpeg): %w", ErrMissing, tool, err)
		}
	}
	return nil
}

// Stream is one stream ffprobe found.
type Stream struct {
	CodecName  string `json:"codec_name"`
	CodecType  string `json:"codec_type"`
	Profile    string `json:"profile"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	SampleRate string `json:"sample_rate"`
	Channels   int    `json:"channels"`
}

// Packet is one packet ffprobe listed.
type Packet struct {
	CodecType string `json:"codec_type"`
	PtsTime   string `json:"pts_time"`
	Flags     string `json:"flags"`
}

// Result is what ffprobe said of an input.
type Result struct {
	Streams []Stream `json:"streams"`
	Packets []Packet `json:"packets"`
	Format  struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// Probe runs ffprobe on input (a path or a URL) for its streams and
// format, and with packets its packets too. Anything ffprobe prints at
// -v error is an error.
func Probe(ctx context.Context, input string, packets bool) (Result, error) {
	var r Result
	args := []string{"-v", "error", "-show_streams", "-show_format", "-of", "json"}
	if packets {
		args = append(args, "-show_entries", "packet=codec_type,pts_time,flags")
	}
	cmd := exec.CommandContext(ctx, "ffprobe", append(args, input)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return r, fmt.Errorf("%w: ffprobe %s: %w: %s", ErrTool, input, err, stderr.String())
	}
	if stderr.Len() > 0 {
		return r, fmt.Errorf("%w: ffprobe %s complained: %s", ErrTool, input, stderr.String())
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("%w: ffprobe's output: %w", ErrTool, err)
	}
	return r, nil
}

// Stream is the first stream of a type ("video", "audio"), or nil.
func (r Result) Stream(typ string) *Stream {
	for i := range r.Streams {
		if r.Streams[i].CodecType == typ {
			return &r.Streams[i]
		}
	}
	return nil
}

// Duration is the input's duration in seconds (0 when unknown).
func (r Result) Duration() float64 {
	d, _ := strconv.ParseFloat(r.Format.Duration, 64)
	return d
}

// FirstVideoPacket is the first video packet in file order, or nil.
func (r Result) FirstVideoPacket() *Packet {
	for i := range r.Packets {
		if r.Packets[i].CodecType == "video" {
			return &r.Packets[i]
		}
	}
	return nil
}

// WaitDuration waits until path exists and ffprobe reads at least minDur
// seconds from it (a recording being written), and returns the probe.
func WaitDuration(ctx context.Context, path string, minDur float64, timeout time.Duration) (Result, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if _, err := os.Stat(path); err == nil {
			r, err := Probe(ctx, path, true)
			if err == nil && r.Duration() >= minDur {
				return r, nil
			}
			last = err
			if err == nil {
				last = fmt.Errorf("%.3f s so far", r.Duration())
			}
		} else {
			last = err
		}
		if time.Now().After(deadline) {
			return Result{}, fmt.Errorf("%w: %.1f s in %s within %v: %w", ErrTimeout, minDur, path, timeout, last)
		}
		select {
		case <-ctx.Done():
			return Result{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
