package loglimit

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// The first line goes out, the repeats within Interval do not, and the
// next line that goes out says how many were held back.
func TestLimiterHoldsRepeatsBack(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var l Limiter
	for range 5 {
		l.Warn(log, "disk failing")
	}
	if n := strings.Count(buf.String(), "disk failing"); n != 1 {
		t.Fatalf("%d lines of 5 repeats within the interval, want 1:\n%s", n, buf.String())
	}
	l.last = l.last.Add(-Interval) // the interval has passed
	l.Log(log, slog.LevelError, "disk failing")
	if !strings.Contains(buf.String(), "not_logged_since_last=4") || !strings.Contains(buf.String(), "level=ERROR") {
		t.Fatalf("the line after the silence:\n%s", buf.String())
	}
}
