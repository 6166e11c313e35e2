package inbox

import "errors"

var (
	// ErrTimeout: nothing that matched came in time.
	ErrTimeout = errors.New("inbox: timed out")
	// ErrClosed: the channel closed before anything matched.
	ErrClosed = errors.New("inbox: channel closed")
)
