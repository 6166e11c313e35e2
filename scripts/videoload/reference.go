package main

import (
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-mcu/tessera/mixer"
)

// refStage is how much of the reference pipeline one ffmpeg run does.
type refStage int

const (
	// stageDecode decodes the N clips and discards the pictures: what
	// decoding alone costs.
	stageDecode refStage = iota
	// stageCompose decodes, scales to the grid and tiles with xstack,
	// without encoding.
	stageCompose
	// stageFull is the reference: compose and encode.
	stageFull
)

type refResult struct {
	frames    int
	cpu, wall float64
}

// msPerFrame is the CPU milliseconds per output frame; frames are the
// composite's (one per picture of each input).
func (r refResult) msPerFrame(frames int) float64 { return r.cpu * 1000 / float64(frames) }

// refRuns are the three ffmpeg runs over the same inputs.
type refRuns struct {
	decode, compose, full refResult
}

// floor is what the codecs alone cost per output frame: decoding the N
// clips, plus encoding the composite (the full run less the composing
// one). No server that decodes every camera and encodes one composite
// at these settings spends less.
func (r refRuns) floor() float64 {
	f := r.full.frames
	return r.decode.msPerFrame(f) + r.full.msPerFrame(f) - r.compose.msPerFrame(f)
}

// references runs the reference and its two partial stages.
func references(inputs []string, codecName, core string, fps, w, h int, bitrate string) (refRuns, error) {
	var rs refRuns
	var err error
	for _, st := range []struct {
		stage refStage
		res   *refResult
	}{{stageFull, &rs.full}, {stageCompose, &rs.compose}, {stageDecode, &rs.decode}} {
		if *st.res, err = reference(inputs, codecName, core, fps, w, h, bitrate, st.stage); err != nil {
			return rs, err
		}
	}
	return rs, nil
}

var frameStat = regexp.MustCompile(`frame=\s*(\d+)`)

// reference runs one stage of the ffmpeg pipeline over inputs and returns
// its CPU time and the frames it output (for stageDecode, the first
// input's).
func reference(inputs []string, codecName, core string, fps, w, h int, bitrate string, stage refStage) (refResult, error) {
	var res refResult
	var args []string
	if core != "" {
		args = append(args, "taskset", "-c", core)
	}
	args = append(args, "ffmpeg", "-hide_banner", "-nostdin", "-y")
	for _, in := range inputs {
		if codecName == "vp8" { // IVF carries its frame rate
			args = append(args, "-threads", "1", "-f", "ivf", "-i", in)
		} else {
			args = append(args, "-threads", "1", "-framerate", strconv.Itoa(fps), "-f", "h264", "-i", in)
		}
	}
	switch stage {
	case stageDecode:
		// One null output per input; the null muxer takes the decoded
		// pictures as they are (no copy, no conversion).
		for i := range inputs {
			args = append(args, "-map", fmt.Sprintf("%d:v", i), "-an", "-threads", "1", "-f", "null", "-")
		}
	case stageCompose:
		args = append(args, "-filter_complex", filterGraph(len(inputs), w, h),
			"-filter_threads", "1", "-filter_complex_threads", "1", "-map", "[out]", "-an", "-threads", "1", "-f", "null", "-")
	case stageFull:
		args = append(args, "-filter_complex", filterGraph(len(inputs), w, h),
			"-filter_threads", "1", "-filter_complex_threads", "1", "-map", "[out]", "-an")
		if codecName == "vp8" {
			// Tessera's VP8 settings (codec/vp8): real time, cpu-used -12,
			// CBR, the whole quantizer range, no lag, static threshold 1.
			args = append(args, "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "-12", "-b:v", bitrate,
				"-minrate", bitrate, "-maxrate", bitrate, "-qmin", "2", "-qmax", "63", "-lag-in-frames", "0",
				"-static-thresh", "1", "-noise-sensitivity", "0")
		} else {
			args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "baseline",
				"-b:v", bitrate)
		}
		args = append(args, "-threads", "1", "-f", "null", "-")
	}
	cmd := exec.Command(args[0], args[1:]...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("ffmpeg: %w: %s", err, tail(stderr.String()))
	}
	res.wall = time.Since(t0).Seconds()
	st := cmd.ProcessState
	res.cpu = (st.UserTime() + st.SystemTime()).Seconds()
	m := frameStat.FindAllStringSubmatch(stderr.String(), -1)
	if len(m) == 0 {
		return res, fmt.Errorf("ffmpeg: no frame count: %s", tail(stderr.String()))
	}
	res.frames, _ = strconv.Atoi(m[len(m)-1][1])
	if res.frames == 0 {
		return res, errors.New("ffmpeg output no frame")
	}
	return res, nil
}

// filterGraph scales input i to the i-th tile of Tessera's grid for n
// tiles on a w x h canvas, places the tiles with xstack and pads the
// picture to the canvas: the same pixels the compositor produces.
func filterGraph(n, w, h int) string {
	rects := mixer.GridRects(w, h, n)
	var b strings.Builder
	var layout []string
	for i, r := range rects {
		fmt.Fprintf(&b, "[%d:v]scale=%d:%d:flags=bilinear[t%d];", i, r.X1-r.X0, r.Y1-r.Y0, i)
		layout = append(layout, fmt.Sprintf("%d_%d", r.X0, r.Y0))
	}
	for i := range rects {
		fmt.Fprintf(&b, "[t%d]", i)
	}
	if len(rects) == 1 {
		fmt.Fprintf(&b, "pad=%d:%d:%d:%d:black[out]", w, h, rects[0].X0, rects[0].Y0)
		return b.String()
	}
	fmt.Fprintf(&b, "xstack=inputs=%d:layout=%s:fill=black,pad=%d:%d:0:0:black[out]", len(rects), strings.Join(layout, "|"), w, h)
	return b.String()
}
