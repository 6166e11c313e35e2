package rtc

import (
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// BenchmarkSendComposite is one 1280x720 composite picture (seven
// 1100-byte H.264 slices, as x264 cuts Tessera's tiers) sent to ten
// viewers through the engine's whole stack (interceptors, congestion
// control, SRTP, the socket), received by a pion peer on loopback. It
// compares the ways the composite has been sent: pion's leaky-bucket
// pacer or none, the picture packetized for each viewer or once for all
// (Frame.Packets), and the media port's datagrams sent and received one
// per system call or in batches. Pictures go out at 30 a second, so time per op is
// the frame interval; cpu-µs/op is the process's CPU time per picture
// (sender and receiver: compare the variants, not the figure).
func BenchmarkSendComposite(b *testing.B) {
	// Seven slices of an access unit, each its own NAL unit.
	var au []byte
	for i := range 7 {
		nal := make([]byte, 1100)
		nal[0] = 0x41 // nal_ref_idc 2, non-IDR slice
		for j := 1; j < len(nal); j++ {
			nal[j] = byte(i*31 + j*7 | 1) // no start code inside
		}
		au = append(append(au, 0, 0, 0, 1), nal...)
	}
	for _, bc := range []struct {
		name                      string
		pacing, shared, unbatched bool
	}{
		{"leaky-pacer/packetized-per-viewer/unbatched", true, false, true},
		{"no-pacer/packetized-per-viewer/unbatched", false, false, true},
		{"no-pacer/shared-packets/unbatched", false, true, true},
		{"no-pacer/shared-packets/batched", false, true, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			e, err := NewEngine(EngineConfig{BindIP: "127.0.0.1", DisableTCP: true, Pacing: bc.pacing, Unbatched: bc.unbatched, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			// Ten viewers of one output, as in a nine-camera room with a
			// viewer: each picture goes to every one.
			const viewers = 10
			var writers []*videoWriter
			for range viewers {
				tx, _, err := e.newPeerConnection()
				if err != nil {
					b.Fatal(err)
				}
				defer tx.Close()
				track, err := webrtc.NewTrackLocalStaticRTP(videoCapability(CodecH264), "video", "tessera")
				if err != nil {
					b.Fatal(err)
				}
				remote := connectTo(b, tx, track)
				w := newVideoWriter(track, endpoint.NewPayloader(CodecH264))
				if err := w.WriteFrame(endpoint.Frame{Data: au, Duration: time.Second / 30}); err != nil {
					b.Fatal(err)
				}
				var tr *webrtc.TrackRemote
				select {
				case tr = <-remote:
				case <-time.After(10 * time.Second):
					b.Fatal("nothing arrived")
				}
				go func() {
					for {
						if _, _, err := tr.ReadRTP(); err != nil {
							return
						}
					}
				}()
				writers = append(writers, w)
			}
			pay := endpoint.NewPayloader(CodecH264)
			// At the composite's rate, as the room sends: the pacer's
			// ticker runs on wall time, so a loop flat out would measure
			// a queue that never drains.
			tick := time.NewTicker(time.Second / 30)
			defer tick.Stop()
			b.ResetTimer()
			cpu0 := processCPU(b)
			for b.Loop() {
				<-tick.C
				frame := endpoint.Frame{Data: au, Duration: time.Second / 30}
				if bc.shared {
					frame.Packets = pay.Payload(endpoint.PacketPayload, au) // once, for every viewer
				}
				for _, w := range writers {
					if err := w.WriteFrame(frame); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
