// Command sipload measures what SIP participants cost a running Tessera
// next to WebRTC ones, from outside: the server (started by
// scripts/sipload.sh, pinned to one core) has room 1234; sipload joins, in
// turn, a few loud WebRTC talkers, then N quiet WebRTC participants, then
// N SIP phones speaking G.711 (PCMU), then N SIP phones speaking Opus (real
// INVITEs over loopback, RTP with a quiet tone), and after each step reads
// the server's CPU time from /proc. Each kind's cost is the step's extra
// CPU divided by N: CPU-milliseconds per participant-second.
//
// With -video M it then measures video participants in the same room:
// the quiet audio participants leave (the talkers stay), one WebRTC and
// one SIP video participant join and keep the composite running for the
// rest of the run, then M WebRTC participants join, each sending a camera
// (-camera codec, 640x360 at -camera-fps, two alternating colours, with
// -camera-noise luma noise) and decoding the composite, then M SIP room
// systems (real INVITEs with PCMU and H.264 packetization mode 1 at level
// 3.1; the same camera encoded with x264 and sent as RTP, an IDR on PLI or
// FIR; the composite depacketized and decoded). Each video step reports
// its CPU per participant-second and the composite frame rate its
// slowest participant decoded. -n 0 skips the audio steps.
//
//	scripts/sipload.sh 20 10s 3
//	scripts/sipload.sh 20 10s 3 6 -camera h264
//
// which runs
//
//	sipload -addr ADDR -sip SIPADDR -pid PID -n 20 -window 10s -rounds 3 -video 6 -camera h264
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/tessera-mcu/tessera/internal/procstat"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8088", "the server's HTTP address (Janus API on /janus)")
	sipAddr := flag.String("sip", "127.0.0.1:5060", "the server's SIP address (UDP)")
	pid := flag.Int("pid", 0, "the server's process ID (its CPU time is read from /proc)")
	n := flag.Int("n", 10, "participants of each kind")
	talkers := flag.Int("talkers", 3, "loud WebRTC talkers in the room throughout")
	window := flag.Duration("window", 10*time.Second, "one measurement window")
	rounds := flag.Int("rounds", 3, "windows per step (the median is reported)")
	settle := flag.Duration("settle", 2*time.Second, "wait after each step's joins before measuring")
	video := flag.Int("video", 0, "video participants of each kind (WebRTC, SIP room system); 0: no video steps")
	camCodec := flag.String("camera", "h264", "the WebRTC video participants' camera codec (h264 or vp8)")
	camFPS := flag.Int("camera-fps", 30, "camera frame rate of the video participants")
	camNoise := flag.Int("camera-noise", 0, "luma noise (±) on the cameras' pictures: grainy content")
	flag.Parse()
	// The SIP library logs through the default logger (a line per
	// dialog closed); the tables are the output.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if *pid == 0 {
		fmt.Fprintln(os.Stderr, "sipload: -pid is required")
		os.Exit(2)
	}
	if *camCodec != "h264" && *camCodec != "vp8" {
		fmt.Fprintln(os.Stderr, "sipload: -camera is h264 or vp8")
		os.Exit(2)
	}
	if *camFPS < 2 || *camFPS > 60 {
		fmt.Fprintln(os.Stderr, "sipload: -camera-fps is 2..60")
		os.Exit(2)
	}
	b := &bench{addr: *addr, sip: *sipAddr, pid: *pid, window: *window, rounds: *rounds, settle: *settle}
	cam := camera{width: 640, height: 360, fps: *camFPS, noise: *camNoise}
	err := b.run(*n, *talkers, *video, cam, *camCodec)
	b.close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sipload:", err)
		os.Exit(1)
	}
}

type bench struct {
	addr, sip      string
	pid            int
	window, settle time.Duration
	rounds         int
	webrtc         []*janus
	phones         []*phone
	ua             *phones
}

func (b *bench) close() {
	for _, ph := range b.phones {
		ph.hangup()
	}
	if b.ua != nil {
		b.ua.close()
	}
	for _, j := range b.webrtc {
		j.close()
	}
}

// measure is the server's CPU (seconds per second) over b.rounds
// windows, their median, and the packet rate of the step's slowest
// receiver in the last one. start is called as a window opens and
// returns what reads that rate when it closes.
func (b *bench) measure(start func() func(secs float64) float64) (cpu, minRate float64, err error) {
	time.Sleep(b.settle)
	var cpus []float64
	for range b.rounds {
		c0, err := procstat.CPUSeconds(b.pid)
		if err != nil {
			return 0, 0, err
		}
		t0 := time.Now()
		rate := start()
		time.Sleep(b.window)
		c1, err := procstat.CPUSeconds(b.pid)
		if err != nil {
			return 0, 0, err
		}
		secs := time.Since(t0).Seconds()
		cpus = append(cpus, (c1-c0)/secs)
		minRate = rate(secs)
	}
	slices.Sort(cpus)
	return cpus[len(cpus)/2], minRate, nil
}

// webrtcRate: audio packets a second received by WebRTC participants
// from index from on.
func (b *bench) webrtcRate(from int) func() func(float64) float64 {
	return func() func(float64) float64 {
		t0 := time.Now()
		return func(secs float64) float64 {
			low := 1e9
			for _, j := range b.webrtc[from:] {
				low = min(low, float64(len(j.peer.ArrivalsSince(t0)))/secs)
			}
			return low
		}
	}
}

// phoneRate: RTP packets a second received by phones from index from on.
func (b *bench) phoneRate(from int) func() func(float64) float64 {
	return func() func(float64) float64 {
		start := make([]uint64, len(b.phones)-from)
		for i, ph := range b.phones[from:] {
			start[i] = ph.received.Load()
		}
		return func(secs float64) float64 {
			low := 1e9
			for i, ph := range b.phones[from:] {
				low = min(low, float64(ph.received.Load()-start[i])/secs)
			}
			return low
		}
	}
}

func (b *bench) addWebRTC(count int, name string, opts func(i int) testpeer.Options) error {
	for i := range count {
		j, err := joinWebRTC(b.addr, fmt.Sprintf("%s%d", name, i), opts(i))
		if err != nil {
			return fmt.Errorf("%s%d: %w", name, i, err)
		}
		b.webrtc = append(b.webrtc, j)
	}
	for _, j := range b.webrtc {
		if err := j.peer.WaitConnected(20 * time.Second); err != nil {
			return err
		}
	}
	return nil
}

// addPhones calls count phones named name0, name1...; with a camera
// they are room systems.
func (b *bench) addPhones(count int, name string, k audioKind, cam *camera) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range count {
		ph, err := b.ua.call(ctx, fmt.Sprintf("%s%d", name, i), k, cam)
		if err != nil {
			return fmt.Errorf("%s%d: %w", name, i, err)
		}
		b.phones = append(b.phones, ph)
	}
	return nil
}

// quietLevel is the amplitude of everyone's tone but the talkers': the
// loud talkers stay the room's talkers while everyone else sends real
// audio. The tones are all multiples of 50 Hz.
const quietLevel = 0.02

func (b *bench) run(n, talkers, video int, cam camera, camCodec string) error {
	var err error
	if b.ua, err = newPhones(b.sip); err != nil {
		return err
	}
	pcmu, err := pcmuKind(1050, quietLevel)
	if err != nil {
		return err
	}
	op, err := opusKind(1150, quietLevel)
	if err != nil {
		return err
	}
	if n > 0 {
		if err := b.audioSteps(n, talkers, pcmu, op); err != nil {
			return err
		}
	} else if err := b.addWebRTC(talkers, "talker", talkerOptions); err != nil {
		return err
	}
	if video == 0 {
		return nil
	}
	b.leaveQuiet(talkers)
	return b.videoSteps(talkers, video, cam, camCodec, pcmu)
}

func talkerOptions(i int) testpeer.Options {
	return testpeer.Options{ToneHz: 300 + 110*float64(i)}
}

// audioSteps measures the talkers alone, then n quiet WebRTC
// participants, n SIP PCMU phones and n SIP Opus phones.
func (b *bench) audioSteps(n, talkers int, pcmu, op audioKind) error {
	fmt.Printf("| step | participants | server CPU (%% of a core) | added CPU per participant (ms per participant-second) | packets/s received (min of the step's) |\n")
	fmt.Printf("|---|---:|---:|---:|---:|\n")
	row := func(step string, total int, cpu, prev float64, count int, rate float64) {
		per := "-"
		if count > 0 {
			per = fmt.Sprintf("%.2f", (cpu-prev)*1000/float64(count))
		}
		fmt.Printf("| %s | %d | %.1f | %s | %.1f |\n", step, total, cpu*100, per, rate)
	}

	if err := b.addWebRTC(talkers, "talker", talkerOptions); err != nil {
		return err
	}
	base, rate, err := b.measure(b.webrtcRate(0))
	if err != nil {
		return err
	}
	row(fmt.Sprintf("%d WebRTC talkers", talkers), talkers, base, 0, 0, rate)

	from := len(b.webrtc)
	if err := b.addWebRTC(n, "webrtc", func(i int) testpeer.Options {
		return testpeer.Options{ToneHz: 950, Amplitude: quietLevel}
	}); err != nil {
		return err
	}
	withWeb, rate, err := b.measure(b.webrtcRate(from))
	if err != nil {
		return err
	}
	row(fmt.Sprintf("+%d WebRTC (Opus)", n), len(b.webrtc), withWeb, base, n, rate)

	from = len(b.phones)
	if err := b.addPhones(n, pcmu.name, pcmu, nil); err != nil {
		return err
	}
	withPCMU, rate, err := b.measure(b.phoneRate(from))
	if err != nil {
		return err
	}
	row(fmt.Sprintf("+%d SIP G.711 (PCMU)", n), len(b.webrtc)+len(b.phones), withPCMU, withWeb, n, rate)

	from = len(b.phones)
	if err := b.addPhones(n, op.name, op, nil); err != nil {
		return err
	}
	withOpus, rate, err := b.measure(b.phoneRate(from))
	if err != nil {
		return err
	}
	row(fmt.Sprintf("+%d SIP Opus", n), len(b.webrtc)+len(b.phones), withOpus, withPCMU, n, rate)
	return nil
}
