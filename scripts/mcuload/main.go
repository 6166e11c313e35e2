// Command mcuload measures Tessera with real WebRTC peers over loopback and
// prints tables.
//
// CPU mode (default) runs the room manager in a child process, so that its
// CPU time is the server's alone, joins N peers (a few send a tone, the rest
// silence; with -video every peer also sends a small camera picture and
// receives the composite), checks that everyone receives, and reports the
// server's CPU per participant:
//
//	go run -tags nolibopusfile ./scripts/mcuload -n 10,25,50 -talkers 3
//	go run -tags nolibopusfile ./scripts/mcuload -video h264 -n 2,4,9
//
// Latency mode sends frames numbered by a pixel pattern from one camera and
// reads the numbers back from the composite a viewer decodes, and reports
// camera-to-viewer latency percentiles:
//
//	go run -tags nolibopusfile ./scripts/mcuload -latency -duration 20s
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/internal/e2etool"
	"github.com/tessera-mcu/tessera/internal/procstat"
	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/rtc"
)

func main() {
	serve := flag.Bool("serve", false, "run as the server child")
	ns := flag.String("n", "10,25,50", "participant counts")
	talkers := flag.Int("talkers", 3, "participants sending a tone")
	video := flag.String("video", "", "camera codec of every peer (vp8 or h264); empty: audio only")
	latency := flag.Bool("latency", false, "measure camera-to-viewer latency instead of CPU")
	dur := flag.Duration("duration", 10*time.Second, "measurement window")
	workers := flag.Int("workers", 1, "server worker threads")
	flag.StringVar(&serverCore, "core", "", "pin the server child to this CPU (taskset -c); run the runner itself on the others, e.g. taskset -c 0 mcuload -core 1")
	flag.Parse()
	var err error
	switch {
	case *serve:
		err = runServer(*workers, *video != "")
	case *latency:
		err = measureLatency(*dur, *video)
	default:
		err = cpuTable(*ns, *talkers, *video, *dur, *workers)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// runServer is the child: a manager with one room and a private HTTP hook
// that joins a participant with an offer and returns the answer.
func runServer(workers int, video bool) error {
	e, err := rtc.NewEngine(rtc.EngineConfig{BindIP: "127.0.0.1", DisableTCP: true, Logger: quiet()})
	if err != nil {
		return err
	}
	defer e.Close()
	m, err := room.NewManager(room.ManagerConfig{Workers: workers, DecodeWorkers: 1, Logger: quiet()})
	if err != nil {
		return err
	}
	r, err := m.Create(room.Config{ID: 1, Video: room.VideoConfig{Disabled: !video}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	return http.Serve(ln, joinHandler(e, r))
}

func joinHandler(e *rtc.Engine, r *room.Room) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		offer, _ := io.ReadAll(req.Body)
		ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
		defer cancel()
		me, _, err := r.Join(ctx, room.JoinRequest{Display: req.URL.Query().Get("name")})
		if err == nil {
			var answer string
			var ans rtc.Answer
			if ans, err = e.Offer(ctx, r.Member(me.ID), string(offer)); err == nil {
				answer = ans.SDP
				_, _ = io.WriteString(w, answer)
				return
			}
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
	})
}

// joinPeers creates peers and joins them through url.
func joinPeers(url string, opts []testpeer.Options) ([]*testpeer.Peer, error) {
	var peers []*testpeer.Peer
	for i, o := range opts {
		p, err := testpeer.New(o)
		if err != nil {
			return peers, err
		}
		peers = append(peers, p)
		offer, err := p.Offer()
		if err != nil {
			return peers, err
		}
		resp, err := http.Post(fmt.Sprintf("%s?name=peer%d", url, i), "application/sdp", strings.NewReader(offer))
		if err != nil {
			return peers, err
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return peers, fmt.Errorf("join: %s", answer)
		}
		if err := p.Accept(string(answer)); err != nil {
			return peers, err
		}
	}
	for _, p := range peers {
		if err := p.WaitConnected(20 * time.Second); err != nil {
			return peers, err
		}
	}
	return peers, nil
}

func closeAll(peers []*testpeer.Peer) {
	for _, p := range peers {
		_ = p.Close()
	}
}

func cpuTable(ns string, talkers int, video string, dur time.Duration, workers int) error {
	fmt.Printf("| participants | talkers | video | server CPU (%% of one core) | per participant (%% of a core) | audio packets/s per listener (min) | composite fps per viewer (min) |\n")
	fmt.Printf("|---:|---:|---|---:|---:|---:|---:|\n")
	for _, f := range strings.Split(ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("bad -n %q", f)
		}
		k := min(talkers, n)
		cpu, rate, fps, err := measureCPU(n, k, video, dur, workers)
		if err != nil {
			return err
		}
		v := video
		if v == "" {
			v = "-"
		}
		fmt.Printf("| %d | %d | %s | %.1f | %.2f | %.1f | %.1f |\n", n, k, v, cpu*100, cpu*100/float64(n), rate, fps)
	}
	return nil
}

// serverCore is the CPU list the server child is pinned to (empty: not
// pinned).
var serverCore string

func measureCPU(n, talkers int, video string, dur time.Duration, workers int) (cpu, minRate, minFPS float64, err error) {
	self, err := os.Executable()
	if err != nil {
		return 0, 0, 0, err
	}
	args := []string{self, "-serve", "-workers", strconv.Itoa(workers), "-video", video}
	if serverCore != "" {
		args = append([]string{"taskset", "-c", serverCore}, args...)
	}
	child := exec.Command(args[0], args[1:]...)
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		return 0, 0, 0, err
	}
	// The server dies with this runner, even when the runner is killed
	// (a run too large for the machine's memory), rather than keep a core
	// busy for whatever runs next.
	exited, err := e2etool.StartChild(child)
	if err != nil {
		return 0, 0, 0, err
	}
	defer func() { _ = child.Process.Kill(); <-exited }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return 0, 0, 0, fmt.Errorf("server did not start: %w", err)
	}
	opts := make([]testpeer.Options, n)
	for i := range opts {
		// The peers count what they receive without decoding it: the
		// load generator's own work stays small, the server's is the same.
		opts[i].NoDecode = true
		if i < talkers {
			opts[i].ToneHz = 300 + 110*float64(i)
		}
		if video != "" {
			opts[i].Video = video
			opts[i].VideoColor = codec.RGB(uint8(40*i), uint8(255-30*i), uint8(90+20*i))
		}
	}
	peers, err := joinPeers("http://"+strings.TrimSpace(addr), opts)
	defer closeAll(peers)
	if err != nil {
		return 0, 0, 0, err
	}
	time.Sleep(2 * time.Second) // settle
	c0, err := procstat.CPUSeconds(child.Process.Pid)
	if err != nil {
		return 0, 0, 0, err
	}
	t0 := time.Now()
	time.Sleep(dur)
	c1, err := procstat.CPUSeconds(child.Process.Pid)
	if err != nil {
		return 0, 0, 0, err
	}
	elapsed := time.Since(t0).Seconds()
	minRate, minFPS = 1e9, 1e9
	for _, p := range peers {
		minRate = min(minRate, float64(len(p.ArrivalsSince(t0)))/elapsed)
		minFPS = min(minFPS, float64(p.VideoFramesSince(t0))/elapsed)
	}
	return (c1 - c0) / elapsed, minRate, minFPS, nil
}

// measureLatency runs server and peers in this process: one camera sending
// numbered frames at 30 fps, one viewer decoding the composite, in a room
// that shows only the camera (so its picture fills the canvas).
func measureLatency(dur time.Duration, video string) error {
	if video == "" {
		video = room.CodecH264
	}
	e, err := rtc.NewEngine(rtc.EngineConfig{BindIP: "127.0.0.1", DisableTCP: true, Logger: quiet()})
	if err != nil {
		return err
	}
	defer e.Close()
	m, err := room.NewManager(room.ManagerConfig{Workers: 1, Logger: quiet()})
	if err != nil {
		return err
	}
	defer m.Close(context.Background())
	r, err := m.Create(room.Config{ID: 1, Video: room.VideoConfig{NoPlaceholders: true, Tiers: []room.Tier{{Width: 1280, Height: 720, Bitrate: 1_500_000}}}})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: joinHandler(e, r)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.Serve(ln)
	defer srv.Close()
	peers, err := joinPeers("http://"+ln.Addr().String(), []testpeer.Options{
		{Video: video, VideoCounter: true, VideoFPS: 30, VideoWidth: 640, VideoHeight: 360, VideoColor: codec.RGB(40, 90, 200)},
		{Video: video, RecvOnly: true},
	})
	defer closeAll(peers)
	if err != nil {
		return err
	}
	cam, viewer := peers[0], peers[1]
	time.Sleep(2 * time.Second)
	t0 := time.Now()
	time.Sleep(dur)
	ns, at := viewer.DecodedCounters()
	var lat []time.Duration
	seen := map[int]bool{}
	for i, n := range ns {
		if at[i].Before(t0) || seen[n] {
			continue // count each frame at its first appearance only
		}
		seen[n] = true
		if sent, ok := cam.SentAt(n); ok && at[i].After(sent) && at[i].Sub(sent) < 5*time.Second {
			lat = append(lat, at[i].Sub(sent))
		}
	}
	if len(lat) == 0 {
		return fmt.Errorf("no numbered frame came back")
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	fmt.Printf("| codec | frames | p50 (ms) | p95 (ms) | max (ms) |\n|---|---:|---:|---:|---:|\n")
	fmt.Printf("| %s | %d | %s | %s | %s |\n", video, len(lat), ms(pct(0.5)), ms(pct(0.95)), ms(lat[len(lat)-1]))
	return nil
}
