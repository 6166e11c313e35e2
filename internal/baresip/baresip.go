package baresip

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ModulePath is where Debian installs baresip's modules.
const ModulePath = "/usr/lib/baresip/modules"

// ErrNotReady: the softphone did not come up, or a command failed.
var ErrNotReady = errors.New("baresip: not ready")

// Options configure a UA.
type Options struct {
	// ToneHz is the frequency of the microphone's sine (default 660).
	ToneHz int
	// Codecs are the audio codecs offered and accepted, in order
	// ("PCMU", "PCMA", "G722", "opus"); empty: PCMU then PCMA.
	Codecs []string
	// AutoAnswer makes the UA answer incoming calls at once.
	AutoAnswer bool
	// User is the account's user part (default "phone").
	User string
	// Binary is the baresip executable (default: baresip on PATH).
	Binary string
	// Video is the video codec offered and accepted: "VP8", or "H264"
	// (baresip-ffmpeg's avcodec module; its H.263, MPEG-4 and H.265 are
	// offered after it); empty: the UA has no video. Its camera is fakevideo's still picture, three
	// vertical bars (red, green, blue from left to right; FakeCamera),
	// at VideoWidth x VideoHeight (default 320x240) and 15 frames a
	// second; what it receives is decoded and can be photographed
	// (SnapshotReceived).
	Video string
	// VideoWidth and VideoHeight of the camera picture.
	VideoWidth, VideoHeight int
}

// Event is one call event the softphone reported (ctrl_tcp), e.g.
// Type "CALL_ESTABLISHED" or "CALL_CLOSED".
type Event struct {
	Type    string `json:"type"`
	Class   string `json:"class"`
	Param   string `json:"param"`
	PeerURI string `json:"peeruri"`
}

// UA is a running softphone.
type UA struct {
	// SIPAddr is where it listens for SIP (UDP and TCP).
	SIPAddr string
	dir     string
	cmd     *exec.Cmd
	ctrl    net.Conn
	out     bytes.Buffer // its console, for failures
	outMu   sync.Mutex
	mu      sync.Mutex
	events  []Event
	changed chan struct{}
	replies chan map[string]any
	done    chan struct{}
	token   int
	snaps   int // snapshots taken
}

// Start runs a softphone in a fresh directory under dir (a test's
// TempDir) and waits until its control socket answers. Its ports are
// picked free; one taken by another process in the meantime makes it
// start again on others (three tries).
func Start(ctx context.Context, dir string, o Options) (*UA, error) {
	var err error
	for range 3 {
		var u *UA
		if u, err = start(ctx, dir, o); err == nil || !strings.Contains(err.Error(), "Address already in use") {
			return u, err
		}
	}
	return nil, err
}

func start(ctx context.Context, dir string, o Options) (*UA, error) {
	bin := o.Binary
	if bin == "" {
		p, err := exec.LookPath("baresip")
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotReady, err)
		}
		bin = p
	}
	if o.ToneHz == 0 {
		o.ToneHz = 660
	}
	if len(o.Codecs) == 0 {
		o.Codecs = []string{"PCMU", "PCMA"}
	}
	if o.User == "" {
		o.User = "phone"
	}
	sipPort, err := freeSIPPort()
	if err != nil {
		return nil, err
	}
	ctrlPort, err := freePort()
	if err != nil {
		return nil, err
	}
	u := &UA{SIPAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(sipPort)), dir: dir,
		changed: make(chan struct{}), replies: make(chan map[string]any, 8), done: make(chan struct{})}
	rec := filepath.Join(dir, "rec")
	if err := os.MkdirAll(rec, 0o755); err != nil {
		return nil, err
	}
	lines := []string{
		"poll_method epoll",
		"sip_listen " + u.SIPAddr,
		"audio_player aufile,/dev/null",
		"audio_alert aufile,/dev/null",
		fmt.Sprintf("audio_source ausine,%d", o.ToneHz),
		"ausrc_srate 48000",
		"ausrc_channels 2",
		"module_path " + ModulePath,
		"module g711.so",
		"module g722.so",
		"module opus.so",
		"module ausine.so",
		"module aufile.so",
		"module sndfile.so",
		"snd_path " + rec,
		"module_app account.so",
		"module_app menu.so",
		"module_app ctrl_tcp.so",
		fmt.Sprintf("ctrl_tcp_listen 127.0.0.1:%d", ctrlPort),
	}
	lines = append(lines, videoConfig(o)...)
	config := strings.Join(append(lines, ""), "\n")
	answer := "manual"
	if o.AutoAnswer {
		answer = "auto"
	}
	account := fmt.Sprintf("<sip:%s@127.0.0.1>;regint=0;answermode=%s;audio_codecs=%s", o.User, answer, strings.Join(o.Codecs, ","))
	if strings.EqualFold(o.Video, "VP8") {
		// baresip takes a codec's first variant by name: for H.264 that
		// is packetization mode 0, which Tessera does not send, so an
		// H.264 UA offers all of its codecs (mode 0, then mode 1, ...).
		account += ";video_codecs=" + o.Video
	}
	account += "\n"
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account), 0o644); err != nil {
		return nil, err
	}
	u.cmd = exec.Command(bin, "-f", dir)
	u.cmd.Dir = dir // snapshots are written relative to it
	u.cmd.Stdout = &lockedWriter{u: u}
	u.cmd.Stderr = &lockedWriter{u: u}
	if err := u.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotReady, err)
	}
	go func() { _ = u.cmd.Wait(); close(u.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ctrlPort), time.Second)
		if err == nil {
			u.ctrl = c
			break
		}
		select {
		case <-u.done:
			return nil, fmt.Errorf("%w: baresip exited: %s", ErrNotReady, u.Console())
		case <-ctx.Done():
			u.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			u.Close()
			return nil, fmt.Errorf("%w: no control socket: %s", ErrNotReady, u.Console())
		}
	}
	go u.readCtrl()
	return u, nil
}

type lockedWriter struct{ u *UA }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.u.outMu.Lock()
	defer w.u.outMu.Unlock()
	if w.u.out.Len() < 1<<20 {
		w.u.out.Write(p)
	}
	return len(p), nil
}

// Console is what the softphone printed so far.
func (u *UA) Console() string {
	u.outMu.Lock()
	defer u.outMu.Unlock()
	return u.out.String()
}

// readCtrl reads netstrings from the control socket: replies to commands
// and call events.
func (u *UA) readCtrl() {
	r := bufio.NewReader(u.ctrl)
	for {
		msg, err := readNetstring(r)
		if err != nil {
			close(u.replies)
			return
		}
		var m map[string]any
		if json.Unmarshal(msg, &m) != nil {
			continue
		}
		if m["event"] == true {
			var e Event
			_ = json.Unmarshal(msg, &e)
			u.mu.Lock()
			u.events = append(u.events, e)
			close(u.changed)
			u.changed = make(chan struct{})
			u.mu.Unlock()
			continue
		}
		if m["response"] == true {
			select {
			case u.replies <- m:
			default:
			}
		}
	}
}

func readNetstring(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[:len(head)-1]))
	if err != nil || n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("baresip: bad netstring length %q", head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// Command runs one control command (e.g. "dial" with a URI, "hangup")
// and returns the softphone's answer text.
func (u *UA) Command(command, params string) (string, error) {
	u.token++
	b, _ := json.Marshal(map[string]string{"command": command, "params": params, "token": strconv.Itoa(u.token)})
	if _, err := fmt.Fprintf(u.ctrl, "%d:%s,", len(b), b); err != nil {
		return "", err
	}
	select {
	case m, ok := <-u.replies:
		if !ok {
			return "", fmt.Errorf("%w: control socket closed", ErrNotReady)
		}
		data, _ := m["data"].(string)
		if m["ok"] != true {
			return data, fmt.Errorf("%w: %s %s: %s", ErrNotReady, command, params, data)
		}
		return data, nil
	case <-time.After(5 * time.Second):
		return "", fmt.Errorf("%w: no answer to %s", ErrNotReady, command)
	}
}

// Dial calls uri.
func (u *UA) Dial(uri string) error {
	_, err := u.Command("dial", uri)
	return err
}

// Hangup ends the current call.
func (u *UA) Hangup() error {
	_, err := u.Command("hangup", "")
	return err
}

// WaitEvent waits for a call event of the given type (e.g.
// "CALL_ESTABLISHED", "CALL_CLOSED") and returns it.
func (u *UA) WaitEvent(ctx context.Context, typ string) (Event, error) {
	seen := 0
	for {
		u.mu.Lock()
		for ; seen < len(u.events); seen++ {
			if e := u.events[seen]; e.Type == typ {
				u.mu.Unlock()
				return e, nil
			}
		}
		ch := u.changed
		u.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Event{}, fmt.Errorf("waiting for %s: %w (events %v)", typ, ctx.Err(), u.Events())
		}
	}
}

// Events returns the call events seen so far.
func (u *UA) Events() []Event {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Event(nil), u.events...)
}

// Received returns what the softphone heard in its latest call (the
// decoded audio sndfile recorded, mono) and its sample rate.
func (u *UA) Received() ([]int16, int, error) {
	files, _ := filepath.Glob(filepath.Join(u.dir, "rec", "*-dec.wav"))
	if len(files) == 0 {
		return nil, 0, fmt.Errorf("%w: no recording of received audio", ErrNotReady)
	}
	latest := files[len(files)-1] // names carry the time
	data, err := os.ReadFile(latest)
	if err != nil {
		return nil, 0, err
	}
	return parseWAV(data)
}

// Close stops the softphone.
func (u *UA) Close() {
	if u.ctrl != nil {
		_ = u.ctrl.Close()
	}
	if u.cmd.Process != nil {
		_ = u.cmd.Process.Signal(os.Interrupt)
		select {
		case <-u.done:
		case <-time.After(3 * time.Second):
			_ = u.cmd.Process.Kill()
			<-u.done
		}
	}
}

// freeSIPPort is a port free for SIP over UDP and TCP whose next port is
// free too (baresip listens for SIP over TLS there).
func freeSIPPort() (int, error) {
	for range 20 {
		p, err := freePort()
		if err != nil {
			return 0, err
		}
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1)); err == nil {
			l.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("%w: no free pair of ports for SIP", ErrNotReady)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	p := l.Addr().(*net.TCPAddr).Port
	// The SIP port is used for UDP too: check it is free there.
	c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return 0, err
	}
	c.Close()
	return p, nil
}
