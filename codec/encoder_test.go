package codec

import (
	"errors"
	"testing"
)

func TestVideoLimits(t *testing.T) {
	l := VideoLimits{Codec: "test", MaxWidth: 64, MaxHeight: 32, EvenSize: true, MaxFPS: 60, MinBitrate: 1000, MaxBitrate: 9000}
	for _, c := range []struct {
		w, h, fps, bps int
		ok             bool
	}{
		{64, 32, 60, 9000, true},
		{2, 2, 1, 1000, true},
		{0, 2, 30, 5000, false},
		{66, 32, 30, 5000, false},
		{64, 34, 30, 5000, false},
		{3, 2, 30, 5000, false},
		{64, 32, 0, 5000, false},
		{64, 32, 61, 5000, false},
		{64, 32, 30, 999, false},
		{64, 32, 30, 9001, false},
	} {
		err := l.CheckConfig(c.w, c.h, c.fps, c.bps)
		if c.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidConfig)) {
			t.Errorf("CheckConfig(%d, %d, %d, %d) = %v", c.w, c.h, c.fps, c.bps, err)
		}
	}
	odd := l
	odd.EvenSize = false
	if err := odd.CheckConfig(3, 5, 30, 5000); err != nil {
		t.Errorf("odd size without EvenSize: %v", err)
	}

	if err := l.CheckFrame(NewFrame(64, 32), 64, 32); err != nil {
		t.Errorf("CheckFrame of a matching frame: %v", err)
	}
	short := NewFrame(64, 32)
	short.V = short.V[:10]
	for name, f := range map[string]*Frame{"nil": nil, "other size": NewFrame(32, 32), "short plane": short} {
		if err := l.CheckFrame(f, 64, 32); !errors.Is(err, ErrFrameSize) {
			t.Errorf("CheckFrame of a %s frame = %v, want ErrFrameSize", name, err)
		}
	}
}

func TestRealTimeBitrate(t *testing.T) {
	if b := RealTimeBitrate(640, 360); b != 700_000 {
		t.Errorf("640x360: %v bit/s, want 700000", b)
	}
	if b := RealTimeBitrate(1280, 720); b < 1_400_000 || b > 1_600_000 {
		t.Errorf("1280x720: %v bit/s, want about 1.5 Mbit/s", b)
	}
}

func TestKeyframeRequest(t *testing.T) {
	var k KeyframeRequest
	if k.Take() {
		t.Fatal("the zero value has a request")
	}
	k.Request()
	if !k.Take() || k.Take() {
		t.Fatal("Take does not return the request once")
	}
	k.Restore(false)
	if k.Take() {
		t.Fatal("Restore(false) made a request")
	}
	k.Restore(true)
	if !k.Take() {
		t.Fatal("Restore(true) lost the request")
	}
}
