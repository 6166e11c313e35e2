// Command streambench measures what Tessera's live outputs cost and how
// late they are, against a running server (scripts/streambench.sh builds
// it, pins it to one core and starts it), with real WebRTC peers in room
// 1234 joined through the Janus API, a local nginx-rtmp ingest and ffmpeg
// as the player.
//
// CPU mode reads the server's CPU time from /proc over steady windows:
// the room alone, then with one RTMP push, then with one HLS viewer
// (ffmpeg reading the playlist), alternating, first with no participant
// receiving H.264 (the outputs need an encoder of their own) and then
// with one H.264 viewer whose encoder the outputs share:
//
//	streambench -addr 127.0.0.1:9088 -pid PID -window 10s -rounds 3
//
// Delay mode sends pictures numbered by a pixel pattern from one camera
// alone in the room and reads the numbers back from what ffmpeg decodes
// of the RTMP stream nginx serves live (and of the HLS playlist): the
// delay from the camera sending a picture to the player showing it.
//
//	streambench -addr 127.0.0.1:9088 -delay -window 20s -rounds 3
package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/internal/nginxrtmp"
	"github.com/tessera-mcu/tessera/internal/procstat"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9088", "the server's HTTP address")
	pid := flag.Int("pid", 0, "the server's process id (CPU mode)")
	delay := flag.Bool("delay", false, "measure the outputs' delay instead of their CPU")
	window := flag.Duration("window", 10*time.Second, "measurement window")
	rounds := flag.Int("rounds", 3, "measurements of each kind")
	idle := flag.Duration("hls-idle", 2*time.Second, "the server's -hls-idle")
	metrics := flag.String("metrics", "", "the server's metrics address (to show the H.264 encoders running)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "streambench")
	if err == nil {
		defer os.RemoveAll(dir)
		var ngx *nginxrtmp.Server
		if ngx, err = nginxrtmp.Start(dir, 0); err == nil {
			defer ngx.Kill()
			b := bench{addr: *addr, pid: *pid, window: *window, rounds: *rounds, idle: *idle, metrics: *metrics, ngx: ngx}
			if *delay {
				err = b.delays()
			} else {
				err = b.cpu()
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "streambench:", err)
		os.Exit(1)
	}
}

type bench struct {
	addr, metrics  string
	pid, rounds    int
	window, idle   time.Duration
	ngx            *nginxrtmp.Server
	pushes, hlsRun int
}

// measure is the server's CPU over one window, in % of one core.
func (b *bench) measure() (float64, error) {
	c0, err := procstat.CPUSeconds(b.pid)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	time.Sleep(b.window)
	c1, err := procstat.CPUSeconds(b.pid)
	if err != nil {
		return 0, err
	}
	return 100 * (c1 - c0) / time.Since(t0).Seconds(), nil
}

// h264Outputs is what the server's metrics say of its H.264 composite
// outputs, tier by tier: "tTIER:ENCODERS/VIEWERS" ("" without -metrics).
// An encoder without viewers is idle (kept a few seconds, encoding
// nothing); a stream counts as a viewer.
func (b *bench) h264Outputs() string {
	if b.metrics == "" {
		return ""
	}
	resp, err := http.Get("http://" + b.metrics + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	enc, viewers := map[string]float64{}, map[string]float64{}
	for _, l := range strings.Split(string(body), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 || !strings.Contains(f[0], `codec="h264"`) {
			continue
		}
		_, tier, _ := strings.Cut(f[0], `tier="`)
		tier, _, _ = strings.Cut(tier, `"`)
		v, _ := strconv.ParseFloat(f[1], 64)
		switch {
		case strings.HasPrefix(f[0], "tessera_video_encoders{"):
			enc[tier] += v
		case strings.HasPrefix(f[0], "tessera_video_viewers{"):
			viewers[tier] += v
		}
	}
	var out []string
	for _, tier := range slices.Sorted(maps.Keys(enc)) {
		out = append(out, fmt.Sprintf("t%s:%g/%g", tier, enc[tier], viewers[tier]))
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, " ")
}

// withPush runs f while room 1234 pushes to nginx.
func (b *bench) withPush(j *janus, f func() error) error {
	b.pushes++
	id, err := j.startPush(b.ngx.URL(fmt.Sprintf("bench%d", b.pushes)))
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // connected, on a keyframe, steady
	ferr := f()
	if err := j.stopPush(id); err != nil {
		return err
	}
	time.Sleep(time.Second)
	return ferr
}

// player is ffmpeg reading url as a player, decoding to raw pictures.
type player struct {
	cmd *exec.Cmd
	out io.ReadCloser
}

func startPlayer(url string, args ...string) (*player, error) {
	a := []string{"-nostdin", "-v", "error", "-threads", "1", "-fflags", "nobuffer", "-flags", "low_delay"}
	a = append(a, args...)
	a = append(a, "-i", url, "-an", "-vf", "scale=1280:720", "-f", "rawvideo", "-pix_fmt", "gray", "-")
	cmd := exec.Command("ffmpeg", a...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &player{cmd: cmd, out: out}, nil
}

func (p *player) stop() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// drain reads and forgets what the player decodes until it ends.
func (p *player) drain() { _, _ = io.Copy(io.Discard, p.out) }

func (b *bench) hlsURL() string { return "http://" + b.addr + "/hls/1234/index.m3u8?token=adminpwd" }

// withHLSViewer runs f while ffmpeg watches room 1234 over HLS, then
// waits for the room's HLS stream to end.
func (b *bench) withHLSViewer(f func() error) error {
	p, err := startPlayer(b.hlsURL())
	if err != nil {
		return err
	}
	go p.drain()
	time.Sleep(5 * time.Second) // the stream started and a segment or two played
	ferr := f()
	p.stop()
	time.Sleep(b.idle + 2*time.Second)
	return ferr
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtList(v []float64) string {
	var parts []string
	for _, x := range v {
		parts = append(parts, fmt.Sprintf("%.1f", x))
	}
	return strings.Join(parts, " ")
}

// cpu measures the outputs' CPU.
func (b *bench) cpu() error {
	var peers []*testpeer.Peer
	var sessions []*janus
	defer func() {
		for _, p := range peers {
			_ = p.Close()
		}
		for _, j := range sessions {
			j.close()
		}
	}()
	add := func(name string, o testpeer.Options) error {
		j, p, err := join(b.addr, name, o)
		if err != nil {
			return err
		}
		peers, sessions = append(peers, p), append(sessions, j)
		return nil
	}
	if err := add("a", testpeer.Options{ToneHz: 440, Video: "vp8", VideoWidth: 640, VideoHeight: 360, VideoFPS: 30,
		VideoColor: codec.RGB(200, 40, 40), VideoColor2: codec.RGB(40, 40, 200)}); err != nil {
		return err
	}
	if err := add("b", testpeer.Options{ToneHz: 660, Video: "vp8", VideoWidth: 640, VideoHeight: 360, VideoFPS: 30,
		VideoColor: codec.RGB(40, 200, 40), VideoNoise: 10}); err != nil {
		return err
	}
	j := sessions[0]
	time.Sleep(3 * time.Second)
	fmt.Printf("| output | H.264 composite for viewers | room alone (%% of a core) | with the output | extra | with / alone | runs: alone / with (%%) | H.264 tier:encoders/viewers alone; with |\n")
	fmt.Printf("|---|---|---:|---:|---:|---:|---|---|\n")
	row := func(name, shared string, base, with []float64, encBase, encWith string) {
		extra := make([]float64, len(with))
		for i := range with {
			extra[i] = with[i] - base[i]
		}
		fmt.Printf("| %s | %s | %.1f | %.1f | %.1f | %.2f | %s / %s | %s; %s |\n", name, shared, median(base), median(with),
			median(extra), median(with)/median(base), fmtList(base), fmtList(with), encBase, encWith)
	}
	for _, shared := range []bool{false, true} {
		label := "none (VP8 viewers only)"
		if shared {
			if err := add("viewer", testpeer.Options{Video: "h264", RecvOnly: true}); err != nil {
				return err
			}
			time.Sleep(3 * time.Second)
			label = "one H.264 viewer (shared)"
		}
		var basePush, push, baseHLS, hls []float64
		var encBase, encPush, encBaseHLS, encHLS string
		for range b.rounds {
			c, err := b.measure()
			if err != nil {
				return err
			}
			basePush, encBase = append(basePush, c), b.h264Outputs()
			if err := b.withPush(j, func() error {
				c, err := b.measure()
				push, encPush = append(push, c), b.h264Outputs()
				return err
			}); err != nil {
				return err
			}
			if c, err = b.measure(); err != nil {
				return err
			}
			baseHLS, encBaseHLS = append(baseHLS, c), b.h264Outputs()
			if err := b.withHLSViewer(func() error {
				c, err := b.measure()
				hls, encHLS = append(hls, c), b.h264Outputs()
				return err
			}); err != nil {
				return err
			}
		}
		row("RTMP push to nginx", label, basePush, push, encBase, encPush)
		row("HLS, one ffmpeg viewer", label, baseHLS, hls, encBaseHLS, encHLS)
	}
	return nil
}
