package codectest

import (
	"errors"
	"testing"

	"github.com/tessera-mcu/tessera/codec"
)

// FrameEncoder and FrameDecoder are the halves of a codec with fixed
// frames (G.711, G.722).
type FrameEncoder interface {
	Encode(pcm []int16, dst []byte) (int, error)
}

// FrameDecoder: see FrameEncoder.
type FrameDecoder interface {
	Decode(payload []byte, pcm []int16) (int, error)
}

// RoundTrip sends in through e and d one frame of frameSamples at a time
// and returns what comes out, failing the test unless every frame
// encodes to frameBytes and decodes to frameSamples again.
func RoundTrip(t testing.TB, e FrameEncoder, d FrameDecoder, in []int16, frameSamples, frameBytes int) []int16 {
	t.Helper()
	out := make([]int16, 0, len(in))
	payload := make([]byte, frameBytes)
	pcm := make([]int16, 8*frameSamples) // room for a decoder that wants its longest frame
	for off := 0; off+frameSamples <= len(in); off += frameSamples {
		n, err := e.Encode(in[off:off+frameSamples], payload)
		if err != nil {
			t.Fatal(err)
		}
		if n != frameBytes {
			t.Fatalf("Encode wrote %d bytes, want %d", n, frameBytes)
		}
		m, err := d.Decode(payload[:n], pcm)
		if err != nil {
			t.Fatal(err)
		}
		if m != frameSamples {
			t.Fatalf("Decode wrote %d samples, want %d", m, frameSamples)
		}
		out = append(out, pcm[:m]...)
	}
	return out
}

// ClosingEncoder and ConcealingDecoder are a narrowband or wideband
// telephone codec's halves (20 ms frames of 160 bytes at the 48 kHz the
// mixer runs at) as CheckTelephoneCodecErrors drives them.
type ClosingEncoder interface {
	FrameEncoder
	Close() error
}

// ConcealingDecoder: see ClosingEncoder.
type ConcealingDecoder interface {
	FrameDecoder
	Conceal(pcm []int16, samples int) (int, error)
	Close() error
}

// CheckTelephoneCodecErrors checks the errors of a codec with 20 ms
// frames of 160 bytes: wrong frame and buffer sizes (codec.ErrFrameSize),
// an empty payload (codec.ErrCorrupt), any whole number of bytes decoding
// to 6 samples each, concealment of badConceal samples refused, and every
// call after Close refused with codec.ErrClosed. It closes e and d.
func CheckTelephoneCodecErrors(t *testing.T, e ClosingEncoder, d ConcealingDecoder, badConceal []int) {
	t.Helper()
	if _, err := e.Encode(make([]int16, 480), make([]byte, 160)); !errors.Is(err, codec.ErrFrameSize) {
		t.Errorf("Encode(480 samples) = %v", err)
	}
	if _, err := e.Encode(make([]int16, 960), make([]byte, 159)); !errors.Is(err, codec.ErrFrameSize) {
		t.Errorf("Encode into 159 bytes = %v", err)
	}
	pcm := make([]int16, 960)
	if _, err := d.Decode(nil, pcm); !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("Decode(nil) = %v", err)
	}
	if _, err := d.Decode(make([]byte, 161), pcm); !errors.Is(err, codec.ErrFrameSize) {
		t.Errorf("Decode(161 bytes into 960) = %v", err)
	}
	// Any whole number of bytes is a valid payload: 1 byte, 10 ms, 30 ms.
	for _, n := range []int{1, 80, 240} {
		out := make([]int16, 6*n)
		if m, err := d.Decode(make([]byte, n), out); err != nil || m != 6*n {
			t.Errorf("Decode(%d bytes) = %d, %v", n, m, err)
		}
	}
	for _, n := range badConceal {
		if _, err := d.Conceal(pcm, n); !errors.Is(err, codec.ErrFrameSize) {
			t.Errorf("Conceal(%d) = %v", n, err)
		}
	}
	_ = e.Close()
	_ = d.Close()
	if _, err := e.Encode(pcm, make([]byte, 160)); !errors.Is(err, codec.ErrClosed) {
		t.Errorf("Encode after Close = %v", err)
	}
	if _, err := d.Decode([]byte{1}, pcm); !errors.Is(err, codec.ErrClosed) {
		t.Errorf("Decode after Close = %v", err)
	}
	if _, err := d.Conceal(pcm, 960); !errors.Is(err, codec.ErrClosed) {
		t.Errorf("Conceal after Close = %v", err)
	}
}
