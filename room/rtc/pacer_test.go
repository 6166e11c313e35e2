package rtc

import (
	"errors"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// Without pacing each packet goes straight to its stream's writer, on the
// caller's goroutine; a packet of a stream never added is an error.
func TestDirectPacer(t *testing.T) {
	p := newDirectPacer()
	var got []uint32
	for _, ssrc := range []uint32{1, 2} {
		p.AddStream(ssrc, interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
			got = append(got, ssrc*100+uint32(h.SequenceNumber))
			return len(payload), nil
		}))
	}
	for i, ssrc := range []uint32{2, 1, 2} {
		if n, err := p.Write(&rtp.Header{SSRC: ssrc, SequenceNumber: uint16(i)}, make([]byte, 7), nil); n != 7 || err != nil {
			t.Fatalf("write to %d: %d, %v", ssrc, n, err)
		}
	}
	if want := []uint32{200, 101, 202}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("written %v, want %v", got, want)
	}
	if _, err := p.Write(&rtp.Header{SSRC: 3}, nil, nil); !errors.Is(err, ErrUnknownStream) {
		t.Errorf("unknown SSRC: %v", err)
	}
}
