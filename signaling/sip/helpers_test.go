package sip

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/plainrtp"
)

// testRoom is the room the tests dial.
const testRoom room.RoomID = 1234

// harness is a room manager with one room and a SIP server on loopback.
type harness struct {
	mgr    *room.Manager
	room   *room.Room
	srv    *Server
	udp    *net.UDPAddr
	tcp    *net.TCPAddr
	mu     sync.Mutex
	digits []rune
}

func newHarness(t *testing.T, cfg Config, rc room.Config) *harness {
	t.Helper()
	return newHarnessWith(t, cfg, rc, 0, room.Limits{})
}

// newHarnessWith is newHarness whose calls end after rtpTimeout without
// RTP (0: the media layer's default), on a manager with limits.
func newHarnessWith(t *testing.T, cfg Config, rc room.Config, rtpTimeout time.Duration, limits room.Limits) *harness {
	t.Helper()
	return newHarnessPorts(t, cfg, rc, rtpTimeout, limits, 41000, 41999)
}

// newHarnessPorts is newHarnessWith whose calls' media take port pairs
// from portMin..portMax.
func newHarnessPorts(t *testing.T, cfg Config, rc room.Config, rtpTimeout time.Duration, limits room.Limits, portMin, portMax int) *harness {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	mgr, err := room.NewManager(room.ManagerConfig{Workers: 1, DisablePinning: true, Limits: limits, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if rc.ID == 0 {
		rc.ID = testRoom
	}
	r, err := mgr.Create(rc)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{mgr: mgr, room: r}
	cfg.UDP, cfg.TCP, cfg.Logger = "127.0.0.1:0", "127.0.0.1:0", log
	if cfg.InviteRate == 0 {
		cfg.InviteRate = 1000
		cfg.InviteBurst = 1000
	}
	cfg.OnDigit = func(_ room.RoomID, _ room.ParticipantID, key rune) {
		h.mu.Lock()
		h.digits = append(h.digits, key)
		h.mu.Unlock()
	}
	eng, err := plainrtp.NewEngine(plainrtp.Config{PortMin: portMin, PortMax: portMax, BindIP: "127.0.0.1", Timeout: rtpTimeout, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h.srv, err = New(cfg, mgr, PlainRTP{Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Listen(); err != nil {
		t.Fatal(err)
	}
	for _, a := range h.srv.Addrs() {
		switch a := a.(type) {
		case *net.UDPAddr:
			h.udp = a
		case *net.TCPAddr:
			h.tcp = a
		}
	}
	t.Cleanup(func() {
		_ = h.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = mgr.Close(ctx)
	})
	return h
}

func (h *harness) keys() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.digits)
}

// participants lists the room's participants' display names.
func (h *harness) participants() []string {
	ps, _ := h.room.Participants(context.Background())
	var names []string
	for _, p := range ps {
		names = append(names, p.Display)
	}
	return names
}

// waitFor polls cond every 20 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

// needSipp finds SIPp (Debian's sip-tester). Without it the test is
// skipped, unless TESSERA_E2E=1 makes that a failure.
func needSipp(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("sipp")
	if err != nil {
		if os.Getenv("TESSERA_E2E") == "1" {
			t.Fatalf("sipp not found and TESSERA_E2E=1 (apt-get install sip-tester): %v", err)
		}
		t.Skipf("sipp not installed (apt-get install sip-tester); set TESSERA_E2E=1 to make this a failure")
	}
	return path
}

// sipp runs a scenario of testdata against the server, over UDP or TCP
// ("u1" or "t1"), and returns SIPp's error: nil when every call of it
// passed.
func (h *harness) sipp(t *testing.T, scenario, transport, service string, extra ...string) error {
	t.Helper()
	bin := needSipp(t)
	dir := t.TempDir()
	target := h.udp.String()
	if transport == "t1" {
		target = h.tcp.String()
	}
	// SIPp binds its media port and the three above it (audio RTP and
	// RTCP, video RTP and RTCP); another test may take one of them between
	// the check and SIPp's start, so a scenario that could not bind runs
	// again on other ports.
	var (
		out  []byte
		err  error
		errs []byte
	)
	for range 3 {
		args := []string{target, "-sf", filepath.Join("testdata", scenario), "-s", service,
			"-i", "127.0.0.1", "-mp", itoa(freeUDPPorts(t, 4)), "-t", transport, "-m", "1", "-l", "1",
			"-timeout", "30s", "-timeout_error", "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
			"-key", "hold_ms", "300", "-key", "caller", "Deskphone", "-key", "codec_pt", "0", "-key", "codec_name", "PCMU"}
		args = append(args, extra...)
		cmd := exec.Command(bin, args...)
		cmd.Dir, _ = os.Getwd()
		out, err = cmd.CombinedOutput()
		errs, _ = os.ReadFile(filepath.Join(dir, "errors.log"))
		if err == nil || !strings.Contains(string(errs), "Unable to bind") {
			break
		}
	}
	if err != nil {
		t.Logf("sipp %s: %v\n%s\n%s", scenario, err, lastLines(out, 30), errs)
	}
	return err
}

func lastLines(b []byte, n int) string {
	lines := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			lines++
			if lines > n {
				return string(b[i+1:])
			}
		}
	}
	return string(b)
}

// itoa is strconv.Itoa, short.
func itoa(n int) string { return strconv.Itoa(n) }

// freeUDPPorts is the first of n UDP ports on loopback, even and in a
// row, that were all free a moment ago (for SIPp's media).
func freeUDPPorts(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		base := c.LocalAddr().(*net.UDPAddr).Port &^ 1
		c.Close()
		free := true
		for p := base; p < base+n && free; p++ {
			l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
			if err != nil {
				free = false
				continue
			}
			defer l.Close()
		}
		if free && base+n <= 65535 {
			return base
		}
	}
	t.Fatalf("no %d free UDP ports in a row", n)
	return 0
}

// freeUDPPort is a UDP port on loopback that was free a moment ago.
func freeUDPPort(t *testing.T) int { return freeUDPPorts(t, 1) }
