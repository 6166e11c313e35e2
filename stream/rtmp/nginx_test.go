package rtmp

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/ffcheck"
	"github.com/tessera-mcu/tessera/internal/nginxrtmp"
)

// needTools skips the test without nginx, its RTMP module, ffmpeg or
// ffprobe, unless TESSERA_E2E=1 makes their absence a failure.
func needTools(t *testing.T) {
	t.Helper()
	if err := errors.Join(nginxrtmp.Check(), ffcheck.Check()); err != nil {
		if os.Getenv("TESSERA_E2E") == "1" {
			t.Fatalf("TESSERA_E2E=1: %v", err)
		}
		t.Skipf("%v; set TESSERA_E2E=1 to make this a failure", err)
	}
}

// freePort returns a loopback TCP port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	port, err := nginxrtmp.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// startNginx runs nginx-rtmp on port until the test ends.
func startNginx(t *testing.T, port int) *nginxrtmp.Server {
	t.Helper()
	s, err := nginxrtmp.Start(t.TempDir(), port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Kill)
	return s
}

// recording waits until nginx has recorded at least minDur seconds of
// stream key and returns the file's path.
func recording(t *testing.T, s *nginxrtmp.Server, key string, minDur float64) string {
	t.Helper()
	path := s.Recording(key)
	if _, err := ffcheck.WaitDuration(context.Background(), path, minDur, 10*time.Second); err != nil {
		t.Fatalf("%v\nnginx's error.log:\n%s", err, s.ErrorLog())
	}
	return path
}

// probe runs ffprobe on path for its streams, format and packets.
func probe(path string) (ffcheck.Result, error) {
	return ffcheck.Probe(context.Background(), path, true)
}

// ffmpegErrors decodes every stream of path and returns what ffmpeg
// printed at -v error: nothing for a clean file.
func ffmpegErrors(t *testing.T, path string) string {
	t.Helper()
	out, err := ffcheck.DecodeErrors(context.Background(), path, 0)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// decodeAudio decodes the audio of path to 48 kHz mono PCM.
func decodeAudio(t *testing.T, path string) []int16 {
	t.Helper()
	pcm, _, err := ffcheck.Audio(context.Background(), path, 0)
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}
