package rtmp

import (
	"io"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/h264"
)

// BenchmarkPushSecond measures what one push adds to a room per second of
// media: Write* of 30 access units of a 2 Mbit/s 1280x720 stream and 50
// chunks of 20 ms PCM, the AAC encode, the FLV/RTMP muxing and the writes
// to a loopback server that discards what it gets. The H.264 encode, which
// the room does anyway, happens before the timer starts. cpu-ms/op is the
// process's CPU time (user and system) per second of media, the receiving
// server's reads included.
func BenchmarkPushSecond(b *testing.B) {
	const fps = 30
	enc, err := h264.NewEncoder(h264.EncoderConfig{Width: 1280, Height: 720, FPS: fps, Bitrate: 2_000_000, KeyframeInterval: fps})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	pic := codec.NewFrame(1280, 720)
	var aus [][]byte
	var keys []bool
	auBytes := 0
	// Two seconds, a keyframe at the start of each; the second is coded
	// at the steady rate.
	for i := 0; i < 2*fps; i++ {
		codectest.MovingPicture(pic, i)
		pkt, err := enc.Encode(pic)
		if err != nil {
			b.Fatal(err)
		}
		if i >= fps {
			aus = append(aus, append([]byte(nil), pkt.Data...))
			keys = append(keys, pkt.Keyframe)
			auBytes += len(pkt.Data)
		}
	}
	if !keys[0] {
		b.Fatal("the second second does not start with a keyframe")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	pcm := make([][]int16, 50)
	for i := range pcm {
		pcm[i] = make([]int16, audioChunk)
		codectest.Tone(pcm[i], 1, audioRate, toneFreq, toneAmp, i*audioChunk)
		for j := range pcm[i] {
			pcm[i][j] += int16(rng.IntN(2000) - 1000)
		}
	}

	srv := startRTMPServer(b, nil)
	connected := make(chan struct{}, 1)
	p, err := New(srv.url("bench"), Options{RequestKeyframe: func() {
		select {
		case connected <- struct{}{}:
		default:
		}
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	pub := <-srv.conns
	go io.Copy(io.Discard, pub.nc)
	<-connected

	b.ResetTimer()
	cpu0 := cpuTime()
	for n := 0; n < b.N; n++ {
		base := time.Duration(n) * time.Second
		v, a := 0, 0
		for v < len(aus) || a < len(pcm) {
			vpts := base + time.Duration(v)*time.Second/fps
			apts := base + time.Duration(a)*20*time.Millisecond
			if v < len(aus) && (a == len(pcm) || vpts <= apts) {
				p.WriteVideo(aus[v], keys[v], vpts)
				v++
			} else {
				p.WriteAudio(pcm[a], apts)
				a++
			}
		}
		for p.Stats().VideoFrames < uint64((n+1)*len(aus)) {
			time.Sleep(50 * time.Microsecond)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(auBytes*8)/1e6, "video-Mbit/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	if st := p.Stats(); st.Dropped != 0 || st.Reconnects != 0 {
		b.Fatalf("stats %+v", st)
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
