// Command sipload measures what SIP participants cost a running Tessera
// next to WebRTC ones, from outside: the server (started by
// scripts/sipload.sh, pinned to one core) has room 1234; sipload joins, in
// turn, a few loud WebRTC talkers, then N quiet WebRTC participants, then
// N SIP phones speaking G.711 (PCMU), then N SIP phones speaking Opus (real
// INVITEs over loopback, RTP with a quiet tone), and after each step reads
// the server's CPU time from /proc. Each kind's cost is the step's extra
// CPU divided by N: CPU-milliseconds per participant-second.
//
//	scripts/sipload.sh 20 10s 3
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
	flag.Parse()
	// The SIP library logs through the default logger (a line per
	// dialog closed); the tables are the output.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if *pid == 0 {
		fmt.Fprintln(os.Stderr, "sipload: -pid is required")
		os.Exit(2)
	}
	b := &bench{addr: *addr, sip: *sipAddr, pid: *pid, window: *window, rounds: *rounds, settle: *settle}
	err := b.run(*n, *talkers)
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

func (b *bench) addPhones(count int, k audioKind) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range count {
		ph, err := b.ua.call(ctx, fmt.Sprintf("%s%d", k.name, i), k)
		if err != nil {
			return fmt.Errorf("%s%d: %w", k.name, i, err)
		}
		b.phones = append(b.phones, ph)
	}
	return nil
}

func (b *bench) run(n, talkers int) error {
	var err error
	if b.ua, err = newPhones(b.sip); err != nil {
		return err
	}
	// Quiet tones, all multiples of 50 Hz: the loud talkers stay the
	// room's talkers while everyone else sends real audio.
	const quiet = 0.02
	pcmu, err := pcmuKind(1050, quiet)
	if err != nil {
		return err
	}
	op, err := opusKind(1150, quiet)
	if err != nil {
		return err
	}
	fmt.Printf("| step | participants | server CPU (%% of a core) | added CPU per participant (ms per participant-second) | packets/s received (min of the step's) |\n")
	fmt.Printf("|---|---:|---:|---:|---:|\n")
	row := func(step string, total int, cpu, prev float64, count int, rate float64) {
		per := "-"
		if count > 0 {
			per = fmt.Sprintf("%.2f", (cpu-prev)*1000/float64(count))
		}
		fmt.Printf("| %s | %d | %.1f | %s | %.1f |\n", step, total, cpu*100, per, rate)
	}

	if err := b.addWebRTC(talkers, "talker", func(i int) testpeer.Options {
		return testpeer.Options{ToneHz: 300 + 110*float64(i)}
	}); err != nil {
		return err
	}
	base, rate, err := b.measure(b.webrtcRate(0))
	if err != nil {
		return err
	}
	row(fmt.Sprintf("%d WebRTC talkers", talkers), talkers, base, 0, 0, rate)

	from := len(b.webrtc)
	if err := b.addWebRTC(n, "webrtc", func(i int) testpeer.Options {
		return testpeer.Options{ToneHz: 950, Amplitude: quiet}
	}); err != nil {
		return err
	}
	withWeb, rate, err := b.measure(b.webrtcRate(from))
	if err != nil {
		return err
	}
	row(fmt.Sprintf("+%d WebRTC (Opus)", n), len(b.webrtc), withWeb, base, n, rate)

	from = len(b.phones)
	if err := b.addPhones(n, pcmu); err != nil {
		return err
	}
	withPCMU, rate, err := b.measure(b.phoneRate(from))
	if err != nil {
		return err
	}
	row(fmt.Sprintf("+%d SIP G.711 (PCMU)", n), len(b.webrtc)+len(b.phones), withPCMU, withWeb, n, rate)

	from = len(b.phones)
	if err := b.addPhones(n, op); err != nil {
		return err
	}
	withOpus, rate, err := b.measure(b.phoneRate(from))
	if err != nil {
		return err
	}
	row(fmt.Sprintf("+%d SIP Opus", n), len(b.webrtc)+len(b.phones), withOpus, withPCMU, n, rate)
	return nil
}
