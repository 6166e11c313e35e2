package nginxrtmp

import "errors"

var (
	// ErrMissing: nginx or its RTMP module is not installed.
	ErrMissing = errors.New("nginxrtmp: not installed")
	// ErrStart: nginx exited or did not listen in time.
	ErrStart = errors.New("nginxrtmp: nginx did not start")
)
