package ffcheck

import "errors"

var (
	// ErrMissing: ffmpeg or ffprobe is not installed.
	ErrMissing = errors.New("ffcheck: ffmpeg not installed")
	// ErrTool: ffmpeg or ffprobe failed or complained.
	ErrTool = errors.New("ffcheck: ffmpeg failed")
	// ErrTimeout: what was waited for did not come in time.
	ErrTimeout = errors.New("ffcheck: timed out")
)
