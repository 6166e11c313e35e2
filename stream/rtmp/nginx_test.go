package rtmp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// rtmpModule is where Debian's libnginx-mod-rtmp installs the module.
const rtmpModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// needTools skips the test without nginx, its RTMP module, ffmpeg or
// ffprobe, unless TESSERA_E2E=1 makes their absence a failure.
func needTools(t *testing.T) {
	t.Helper()
	missing := func(what, pkg string, err error) {
		if os.Getenv("TESSERA_E2E") == "1" {
			t.Fatalf("%s not found and TESSERA_E2E=1: %v", what, err)
		}
		t.Skipf("%s not installed (apt-get install %s); set TESSERA_E2E=1 to make this a failure", what, pkg)
	}
	for _, tool := range []struct{ cmd, pkg string }{{"nginx", "nginx"}, {"ffmpeg", "ffmpeg"}, {"ffprobe", "ffmpeg"}} {
		if _, err := exec.LookPath(tool.cmd); err != nil {
			missing(tool.cmd, tool.pkg, err)
		}
	}
	if _, err := os.Stat(rtmpModule); err != nil {
		missing("nginx's RTMP module", "libnginx-mod-rtmp", err)
	}
}

// freePort returns a loopback TCP port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// nginxServer is an nginx with the RTMP module, one process, listening
// on a loopback port and recording every stream published to its "live"
// application as RECDIR/<stream key>.flv.
type nginxServer struct {
	t      *testing.T
	port   int
	recDir string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
}

func startNginx(t *testing.T, port int) *nginxServer {
	t.Helper()
	dir := t.TempDir()
	rec := filepath.Join(dir, "rec")
	if err := os.Mkdir(rec, 0o777); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`load_module %s;
daemon off;
master_process off;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 64; }
rtmp {
	server {
		listen 127.0.0.1:%d;
		application live {
			live on;
			record all;
			record_path %s;
			record_unique off;
		}
	}
}
`, rtmpModule, dir, dir, port, rec)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nginx", "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	n := &nginxServer{t: t, port: port, recDir: rec, dir: dir, cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(n.kill)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", n.addr(), time.Second)
		if err == nil {
			c.Close()
			return n
		}
		select {
		case <-n.exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited at start: %s\n%s\n%s", cmd.ProcessState, out.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not listen on %s: %v", n.addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (n *nginxServer) addr() string { return "127.0.0.1:" + strconv.Itoa(n.port) }

// kill ends nginx at once (SIGKILL), as a crashing ingest would go.
func (n *nginxServer) kill() {
	select {
	case <-n.exited:
		return
	default:
	}
	n.cmd.Process.Kill()
	<-n.exited
}

// recording waits until nginx has written key.flv and ffprobe reads at
// least minDur seconds from it, and returns its path.
func (n *nginxServer) recording(key string, minDur float64) string {
	n.t.Helper()
	path := filepath.Join(n.recDir, key+".flv")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			if r, err := probe(path); err == nil && r.duration() >= minDur {
				return path
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
			n.t.Fatalf("nginx did not record %.1f s into %s\nerror.log:\n%s", minDur, path, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type probeStream struct {
	CodecName  string `json:"codec_name"`
	CodecType  string `json:"codec_type"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	SampleRate string `json:"sample_rate"`
	Channels   int    `json:"channels"`
}

type probePacket struct {
	CodecType string `json:"codec_type"`
	PtsTime   string `json:"pts_time"`
	Flags     string `json:"flags"`
}

type probeResult struct {
	Streams []probeStream `json:"streams"`
	Packets []probePacket `json:"packets"`
	Format  struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// probe runs ffprobe on path for its streams, format and packets.
func probe(path string) (probeResult, error) {
	var r probeResult
	cmd := exec.Command("ffprobe", "-v", "error", "-show_streams", "-show_format",
		"-show_entries", "packet=codec_type,pts_time,flags", "-of", "json", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return r, fmt.Errorf("ffprobe: %v: %s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		return r, fmt.Errorf("ffprobe complained: %s", stderr.String())
	}
	err = json.Unmarshal(out, &r)
	return r, err
}

func (r probeResult) stream(typ string) *probeStream {
	for i := range r.Streams {
		if r.Streams[i].CodecType == typ {
			return &r.Streams[i]
		}
	}
	return nil
}

func (r probeResult) duration() float64 {
	d, _ := strconv.ParseFloat(r.Format.Duration, 64)
	return d
}

// firstVideoPacket is the first video packet in file order.
func (r probeResult) firstVideoPacket() *probePacket {
	for i := range r.Packets {
		if r.Packets[i].CodecType == "video" {
			return &r.Packets[i]
		}
	}
	return nil
}

// ffmpegErrors decodes every stream of path and returns what ffmpeg
// printed at -v error: nothing for a clean file.
func ffmpegErrors(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", path, err, out)
	}
	return string(out)
}

// decodeAudio decodes the audio of path to 48 kHz mono PCM.
func decodeAudio(t *testing.T, path string) []int16 {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a", "-f", "s16le", "-ac", "1", "-ar", "48000", "-")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg audio of %s: %v\n%s", path, err, stderr.String())
	}
	b := stdout.Bytes()
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
	}
	return pcm
}
