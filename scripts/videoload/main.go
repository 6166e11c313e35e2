// Command videoload measures what a video room costs the whole server
// with real WebRTC cameras, next to an ffmpeg pipeline doing the same
// work on the same clips in the same run.
//
// N camera participants join room 1234 of a running server through the
// Janus API (video MCU plugin); each sends a pre-encoded 640x360 H.264
// clip (an Annex-B file) at 30 fps in a loop, with an Opus tone, and
// receives the composite like any participant. One more participant only
// views and decodes the composite. Over a window, the server's CPU time
// (from /proc) divided by the composite pictures the viewer decoded is
// the server's CPU per output frame.
//
// The reference then decodes the same N clips with ffmpeg, tiles them
// with xstack on the grid Tessera uses for N tiles at the same canvas
// size, and encodes with libx264 (ultrafast, baseline, zerolatency, the
// same bitrate), all in one thread on the server's core; its CPU time
// per output frame and the ratio between the two are printed. Two partial
// runs (decoding alone; decoding, scaling and tiling without encoding)
// give the codec floor: decoding plus encoding, with nothing else.
//
// scripts/videoload.sh generates the clips, starts the server and runs
//
//	videoload -addr ADDR -pid PID -core CORE -clips a.h264,b.h264 -n 9 -window 10s
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/tessera-mcu/tessera/codec/h264"
	"github.com/tessera-mcu/tessera/internal/procstat"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8088", "the server's HTTP address (Janus API on /janus)")
	pid := flag.Int("pid", 0, "the server's process ID (its CPU time is read from /proc)")
	core := flag.String("core", "", "the CPU the server is pinned to; the ffmpeg reference runs there too (empty: unpinned)")
	clipList := flag.String("clips", "", "comma-separated Annex-B H.264 clips; camera i sends clip i mod their count")
	n := flag.Int("n", 9, "camera participants")
	fps := flag.Int("fps", 30, "frame rate of the clips")
	window := flag.Duration("window", 10*time.Second, "measurement window")
	settle := flag.Duration("settle", 3*time.Second, "wait after the joins before measuring")
	canvas := flag.String("canvas", "1280x720", "composite size of the ffmpeg reference (Tessera's default)")
	bitrate := flag.String("bitrate", "1500k", "composite bitrate of the ffmpeg reference")
	sendOnly := flag.Bool("send-only", false, "cameras do not receive the composite (only the viewer does)")
	codecName := flag.String("codec", "h264", "camera and composite codec: h264 (clips Annex-B) or vp8 (clips IVF)")
	rooms := flag.Int("rooms", 1, "rooms, each with n cameras and a viewer (1234 and the next ones)")
	simulcast := flag.Bool("simulcast", false, "cameras send three simulcast layers: each clip X.h264 with X.h.h264 (half size) and X.q.h264 (quarter size)")
	noRef := flag.Bool("no-ffmpeg", false, "skip the ffmpeg reference")
	adminKey := flag.String("admin-key", "", "the server's -admin-key (the room's outputs are read from the admin API)")
	pprofAddr := flag.String("pprof", "", "the server's metrics listener with -pprof (host:port): a CPU profile of the window is taken")
	profOut := flag.String("profile", "videoload.pprof", "where the CPU profile is written (with -pprof)")
	flag.Parse()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "videoload:", err)
		os.Exit(1)
	}
	if *pid == 0 || *clipList == "" || *n < 1 {
		fmt.Fprintln(os.Stderr, "videoload: -pid, -clips and -n >= 1 are required")
		os.Exit(2)
	}
	var cw, ch int
	if _, err := fmt.Sscanf(*canvas, "%dx%d", &cw, &ch); err != nil {
		fail(fmt.Errorf("-canvas %q: %w", *canvas, err))
	}
	paths := strings.Split(*clipList, ",")
	if *codecName != "h264" && *codecName != "vp8" || *codecName == "vp8" && *simulcast {
		fmt.Fprintln(os.Stderr, "videoload: -codec is h264 or vp8, and -simulcast needs h264")
		os.Exit(2)
	}
	clips := make([][][]byte, len(paths))
	var layers [][]testpeer.Layer // per clip, with -simulcast
	for i, p := range paths {
		var err error
		if clips[i], err = readClip(p, *codecName); err != nil {
			fail(err)
		}
		if !*simulcast {
			continue
		}
		var ls []testpeer.Layer
		for _, l := range []struct {
			rid, suffix string
			div         int
		}{{"q", ".q.h264", 4}, {"h", ".h.h264", 2}, {"f", "", 1}} {
			au := clips[i]
			if l.suffix != "" {
				if au, err = readClip(strings.TrimSuffix(p, ".h264")+l.suffix, "h264"); err != nil {
					fail(err)
				}
			}
			ls = append(ls, testpeer.Layer{RID: l.rid, Width: 640 / l.div, Height: 360 / l.div, Clip: au})
		}
		layers = append(layers, ls)
	}
	inputs := make([]string, *n)
	for i := range inputs {
		inputs[i] = paths[i%len(paths)]
	}

	r := &run{addr: *addr}
	defer r.close()
	var prof profiler
	if *pprofAddr != "" {
		prof = profiler{url: "http://" + *pprofAddr + "/debug/pprof/profile", out: *profOut}
	}
	res, err := r.server(*pid, *codecName, *rooms, *n, clips, layers, *fps, *sendOnly, *settle, *window, prof)
	if err != nil {
		r.close()
		fail(err)
	}
	outs, err := roomOutputs(*addr, *adminKey)
	if err != nil {
		outs = err.Error()
	}
	r.close()
	fmt.Printf("tessera: %d cameras 640x360@%d %s%s (%d clips), 1 viewer%s, window %v\n",
		*n, *fps, strings.ToUpper(*codecName), map[bool]string{true: " simulcast (640x360, 320x180, 160x90)", false: ""}[*simulcast], len(paths), map[bool]string{true: ", cameras send only", false: ", cameras also receive the composite"}[*sendOnly], *window)
	fmt.Printf("  server CPU %.1f%% of a core, composite %.1f fps (viewer), decoded %s, keyframes %d, decode errors %d\n",
		res.cpu*100/res.secs, float64(res.frames)/res.secs, res.size, res.keyframes, res.errors)
	if *rooms > 1 {
		fmt.Printf("  %d rooms: composite fps per viewer min %.1f, audio packets/s per listener min %.1f (%d listeners)\n",
			*rooms, res.minFPS, res.minAudio, res.listeners)
	}
	fmt.Printf("  join to first composite frame: viewer %v, cameras max %v (%d of %d)\n",
		res.viewerFirst.Round(time.Millisecond), res.camFirst.Round(time.Millisecond), res.camsSeen, res.camsRecv)
	if res.frames == 0 {
		fail(errors.New("the viewer decoded no composite picture in the window"))
	}
	fmt.Println("  room outputs:", outs)
	tms := res.cpu * 1000 / float64(res.frames) / float64(*rooms)
	fmt.Printf("  server CPU per output frame (per room): %.2f ms\n", tms)
	if *noRef {
		return
	}
	refs, err := references(inputs, *codecName, *core, *fps, cw, ch, *bitrate)
	if err != nil {
		fail(err)
	}
	ref, frames := refs.full, refs.full.frames
	fmt.Printf("ffmpeg: decode %d, scale to the grid, xstack %dx%d, %s %s, one thread%s\n",
		*n, cw, ch, map[string]string{"h264": "libx264 ultrafast baseline zerolatency", "vp8": "libvpx realtime cpu-used -12 CBR"}[*codecName], *bitrate, map[bool]string{true: " on core " + *core, false: ""}[*core != ""])
	fmt.Printf("  %d frames, CPU %.2f s (wall %.2f s): %.2f ms per output frame\n", frames, ref.cpu, ref.wall, ref.msPerFrame(frames))
	fmt.Printf("  of which decoding the %d clips %.2f ms, scaling and tiling %.2f ms, encoding %.2f ms\n", *n,
		refs.decode.msPerFrame(frames), refs.compose.msPerFrame(frames)-refs.decode.msPerFrame(frames), ref.msPerFrame(frames)-refs.compose.msPerFrame(frames))
	fmt.Printf("codec floor (ffmpeg's decoding of the clips + encoding of the composite): %.2f ms per output frame\n", refs.floor())
	fmt.Printf("ratio tessera/ffmpeg (CPU per output frame): %.2f\n", tms/ref.msPerFrame(frames))
	fmt.Printf("ratio tessera/codec floor: %.2f\n", tms/refs.floor())
}

// run holds the participants of one measurement.
type run struct {
	addr  string
	peers []*janus
}

func (r *run) close() {
	for _, j := range r.peers {
		j.close()
	}
	r.peers = nil
}

type serverResult struct {
	cpu, secs             float64 // server CPU seconds over the window, and its length
	frames                uint64  // composite pictures the viewer decoded in the window
	keyframes, errors     uint64
	size                  string
	viewerFirst, camFirst time.Duration
	camsSeen, camsRecv    int
	// Over every room: the slowest viewer's composite rate, and the
	// fewest audio packets a second any listener got.
	minFPS, minAudio float64
	listeners        int
}

// firstFrame returns a channel that gets the time from start to the
// peer's first decoded composite picture (nothing if it never comes).
func firstFrame(p *testpeer.Peer, start time.Time, stop <-chan struct{}) <-chan time.Duration {
	ch := make(chan time.Duration, 1)
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			if n, _, _ := p.VideoStats(); n > 0 {
				ch <- time.Since(start)
				return
			}
		}
	}()
	return ch
}

func (r *run) server(pid int, codecName string, rooms, n int, clips [][][]byte, layers [][]testpeer.Layer, fps int, sendOnly bool, settle, window time.Duration, prof profiler) (serverResult, error) {
	var res serverResult
	stop := make(chan struct{})
	defer close(stop)
	var (
		camFirst    []<-chan time.Duration
		viewers     []*janus
		listeners   []*janus
		viewerFirst <-chan time.Duration
	)
	for k := range rooms {
		room := uint64(1234 + k)
		if k > 0 {
			if err := createRoom(r.addr, room); err != nil {
				return res, err
			}
		}
		for i := range n {
			start := time.Now()
			opts := testpeer.Options{
				ToneHz: 300 + 50*float64(i), Amplitude: 0.05, Video: codecName,
				VideoWidth: 640, VideoHeight: 360, VideoFPS: fps, VideoClip: clips[i%len(clips)], SendOnly: sendOnly,
				NoDecode: true}
			if layers != nil {
				// A simulcast camera sends only (as a WHIP publisher would);
				// a viewer of its own takes the composite it would have
				// received, so the server sends as much as without simulcast.
				opts.VideoClip, opts.Simulcast, opts.SendOnly = nil, layers[i%len(layers)], true
			}
			j, err := joinWebRTC(r.addr, room, fmt.Sprintf("camera%d", i), opts)
			if err != nil {
				return res, fmt.Errorf("room %d camera%d: %w", room, i, err)
			}
			r.peers = append(r.peers, j)
			if layers != nil && !sendOnly {
				if j, err = joinWebRTC(r.addr, room, fmt.Sprintf("camera%d-screen", i), testpeer.Options{Video: "h264", RecvOnly: true, NoDecode: true}); err != nil {
					return res, fmt.Errorf("room %d camera%d's viewer: %w", room, i, err)
				}
				r.peers = append(r.peers, j)
			}
			if !sendOnly {
				listeners = append(listeners, j)
				if k == 0 {
					camFirst = append(camFirst, firstFrame(j.peer, start, stop))
				}
			}
		}
		start := time.Now()
		v, err := joinWebRTC(r.addr, room, "viewer", testpeer.Options{Video: codecName, RecvOnly: true})
		if err != nil {
			return res, fmt.Errorf("room %d viewer: %w", room, err)
		}
		r.peers = append(r.peers, v)
		viewers, listeners = append(viewers, v), append(listeners, v)
		if k == 0 {
			viewerFirst = firstFrame(v.peer, start, stop)
		}
	}
	v := viewers[0]
	for _, j := range r.peers {
		if err := j.peer.WaitConnected(20 * time.Second); err != nil {
			return res, err
		}
	}
	time.Sleep(settle)

	c0, err := procstat.CPUSeconds(pid)
	if err != nil {
		return res, err
	}
	f0, k0, e0 := v.peer.VideoStats()
	vf0 := make([]uint64, len(viewers))
	for i, w := range viewers {
		vf0[i], _, _ = w.peer.VideoStats()
	}
	t0 := time.Now()
	profiled := prof.start(window)
	time.Sleep(window)
	if err := <-profiled; err != nil {
		return res, err
	}
	c1, err := procstat.CPUSeconds(pid)
	if err != nil {
		return res, err
	}
	f1, k1, e1 := v.peer.VideoStats()
	res.secs = time.Since(t0).Seconds()
	res.minFPS = -1
	for i, w := range viewers {
		f, _, _ := w.peer.VideoStats()
		if fps := float64(f-vf0[i]) / res.secs; res.minFPS < 0 || fps < res.minFPS {
			res.minFPS = fps
		}
	}
	res.minAudio, res.listeners = -1, len(listeners)
	for _, l := range listeners {
		if pps := float64(len(l.peer.ArrivalsSince(t0))) / res.secs; res.minAudio < 0 || pps < res.minAudio {
			res.minAudio = pps
		}
	}
	res.cpu, res.frames, res.keyframes, res.errors = c1-c0, f1-f0, k1-k0, e1-e0
	if f := v.peer.VideoFrame(); f != nil {
		res.size = fmt.Sprintf("%dx%d", f.Width, f.Height)
	} else {
		res.size = "nothing"
	}
	res.viewerFirst = -1
	select {
	case res.viewerFirst = <-viewerFirst:
	default:
	}
	res.camsRecv = len(camFirst)
	for _, ch := range camFirst {
		select {
		case d := <-ch:
			res.camsSeen++
			res.camFirst = max(res.camFirst, d)
		default:
		}
	}
	return res, nil
}

func tail(s string) string {
	if len(s) > 600 {
		s = s[len(s)-600:]
	}
	return s
}

// profiler takes a CPU profile of the server over the window from its
// /debug/pprof/profile endpoint (an empty url: none).
type profiler struct{ url, out string }

func (p profiler) start(window time.Duration) <-chan error {
	done := make(chan error, 1)
	if p.url == "" {
		done <- nil
		return done
	}
	go func() {
		resp, err := http.Get(fmt.Sprintf("%s?seconds=%d", p.url, max(1, int(window.Seconds()))))
		if err != nil {
			done <- fmt.Errorf("profile: %w", err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			done <- fmt.Errorf("profile: %s", resp.Status)
			return
		}
		f, err := os.Create(p.out)
		if err == nil {
			_, err = io.Copy(f, resp.Body)
			err = errors.Join(err, f.Close())
		}
		done <- err
	}()
	return done
}

// roomOutputs describes the composite encoders of room 1234 as the admin
// API reports them (how many tiers were encoded in the run).
func roomOutputs(addr, key string) (string, error) {
	req, err := http.NewRequest("GET", "http://"+addr+"/admin/rooms/1234", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var st struct {
		Outputs []struct {
			Codec   string `json:"codec"`
			Width   int    `json:"width"`
			Height  int    `json:"height"`
			Viewers int    `json:"viewers"`
			Frames  uint64 `json:"frames"`
		} `json:"video_outputs"`
		Skipped uint64 `json:"video_skipped_ticks"`
		Inputs  []struct {
			Width  int `json:"layer_width"`
			Height int `json:"layer_height"`
		} `json:"video_inputs"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("admin API: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return "", err
	}
	var parts []string
	for _, o := range st.Outputs {
		parts = append(parts, fmt.Sprintf("%s %dx%d viewers %d frames %d", o.Codec, o.Width, o.Height, o.Viewers, o.Frames))
	}
	decoded := map[string]int{}
	for _, in := range st.Inputs {
		if in.Width > 0 {
			decoded[fmt.Sprintf("%dx%d", in.Width, in.Height)]++
		}
	}
	out := fmt.Sprintf("%s; skipped ticks %d", strings.Join(parts, ", "), st.Skipped)
	if len(decoded) > 0 {
		out += fmt.Sprintf("; camera pictures decoded at %v", decoded)
	}
	return out, nil
}

// readClip reads a clip into its pictures: an Annex-B H.264 stream into
// access units, whose first must hold an IDR picture, or an IVF file into
// VP8 frames, whose first must be a key frame.
func readClip(path, codecName string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if codecName == "vp8" {
		frames, err := testpeer.ReadIVF(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(frames[0]) < 3 || frames[0][0]&1 != 0 {
			return nil, fmt.Errorf("%s: the first frame is no key frame", path)
		}
		return frames, nil
	}
	aus := h264.SplitAccessUnits(b)
	if len(aus) == 0 || !h264.ContainsIDR(aus[0]) {
		return nil, fmt.Errorf("%s: no access units, or the first holds no IDR picture", path)
	}
	return aus, nil
}
