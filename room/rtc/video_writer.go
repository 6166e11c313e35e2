package rtc

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// videoClock is the RTP clock rate of video.
const videoClock = 90000

// videoWriter sends the composite on a viewer's track. The room cuts each
// picture into RTP payloads once for all viewers (Frame.Packets); the
// writer gives them this stream's sequence numbers and timestamps (the
// track sets SSRC and payload type), and packetizes a frame itself only
// when it comes without packets.
type videoWriter struct {
	t *webrtc.TrackLocalStaticRTP

	mu  sync.Mutex // WriteFrame runs on one goroutine; the lock keeps it honest
	pay rtp.Payloader
	seq uint16
	ts  uint32
	rem float64 // fraction of a clock tick carried to the next frame
}

func newVideoWriter(t *webrtc.TrackLocalStaticRTP, pay rtp.Payloader) *videoWriter {
	// Random starts, as RFC 3550 asks of both.
	return &videoWriter{t: t, pay: pay, seq: uint16(rand.Uint32()), ts: rand.Uint32()}
}

func (w *videoWriter) WriteFrame(f endpoint.Frame) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	ticks := w.ticks(f.Duration.Seconds() * videoClock)
	if f.Skipped > 0 {
		// Frames not sent keep their place: time moves on by their
		// duration, and the sequence jumps, so the receiver counts a loss
		// right there.
		w.seq += f.Skipped
		w.ts += w.ticks(f.Duration.Seconds() * videoClock * float64(f.Skipped))
	}
	payloads := f.Packets
	if payloads == nil && len(f.Data) > 0 {
		payloads = w.pay.Payload(endpoint.PacketPayload, f.Data)
	}
	var errs []error
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, Timestamp: w.ts}}
	for i, p := range payloads {
		pkt.SequenceNumber = w.seq
		pkt.Marker = i == len(payloads)-1
		pkt.Payload = p
		w.seq++
		if err := w.t.WriteRTP(&pkt); err != nil {
			errs = append(errs, err)
		}
	}
	w.ts += ticks
	return errors.Join(errs...)
}

// ticks rounds a duration in clock ticks to whole ticks, carrying what
// rounding took or added so that the stream does not drift.
func (w *videoWriter) ticks(exact float64) uint32 {
	exact += w.rem
	n := math.Round(exact)
	w.rem = exact - n
	return uint32(n)
}
