package ffcheck

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"

	"github.com/tessera-mcu/tessera/codec"
)

// AudioRate is the rate of the PCM Audio returns.
const AudioRate = 48000

// DecodeErrors decodes every stream of input (reading at most seconds of
// it when seconds > 0) and returns what ffmpeg printed at -v error:
// nothing for clean media.
func DecodeErrors(ctx context.Context, input string, seconds float64) (string, error) {
	args := []string{"-nostdin", "-v", "error"}
	args = append(args, "-i", input)
	if seconds > 0 {
		args = append(args, "-t", strconv.FormatFloat(seconds, 'f', 3, 64))
	}
	out, err := exec.CommandContext(ctx, "ffmpeg", append(args, "-f", "null", "-")...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%w: ffmpeg decoding %s: %w: %s", ErrTool, input, err, out)
	}
	return string(out), nil
}

// Audio decodes the audio of input (at most seconds of it when seconds >
// 0) to AudioRate mono PCM; ffmpeg's complaints come with it.
func Audio(ctx context.Context, input string, seconds float64) ([]int16, string, error) {
	args := []string{"-nostdin", "-v", "error", "-i", input}
	if seconds > 0 {
		args = append(args, "-t", strconv.FormatFloat(seconds, 'f', 3, 64))
	}
	args = append(args, "-map", "0:a", "-f", "s16le", "-ac", "1", "-ar", strconv.Itoa(AudioRate), "-")
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, stderr.String(), fmt.Errorf("%w: ffmpeg audio of %s: %w: %s", ErrTool, input, err, stderr.String())
	}
	return PCM(stdout.Bytes()), stderr.String(), nil
}

// PCM reads signed 16-bit little-endian samples.
func PCM(b []byte) []int16 {
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
	}
	return pcm
}

// Picture decodes the video picture of input at seconds from its start,
// scaled to w x h.
func Picture(ctx context.Context, input string, seconds float64, w, h int) (*codec.Frame, error) {
	args := []string{"-nostdin", "-v", "error", "-ss", strconv.FormatFloat(seconds, 'f', 3, 64), "-i", input,
		"-map", "0:v", "-frames:v", "1", "-vf", fmt.Sprintf("scale=%d:%d", w, h), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: ffmpeg picture of %s: %w: %s", ErrTool, input, err, stderr.String())
	}
	f := codec.NewFrame(w, h)
	if stdout.Len() != len(f.Bytes()) {
		return nil, fmt.Errorf("%w: ffmpeg gave %d bytes for a %dx%d picture: %s", ErrTool, stdout.Len(), w, h, stderr.String())
	}
	copy(f.Bytes(), stdout.Bytes())
	return f, nil
}

// ReadPicture reads one w x h I420 picture (ffmpeg's "-f rawvideo
// -pix_fmt yuv420p" output) from r into f, which must be w x h.
func ReadPicture(r io.Reader, f *codec.Frame) error {
	_, err := io.ReadFull(r, f.Bytes())
	return err
}
