package baresip

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/internal/e2etool"
)

// The softphone calls SIPp's built-in answering side, which echoes its
// RTP back: the call is established, the softphone hears its own tone
// (660 Hz) and nothing at 440 Hz, and hanging up closes the call.
func TestSoftphoneHearsEcho(t *testing.T) {
	sipp := e2etool.Need(t, "sipp")
	e2etool.Need(t, "baresip")
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	echo := exec.CommandContext(ctx, sipp, "-sn", "uas", "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-rtp_echo", "-nostdin")
	echo.Dir = t.TempDir()
	if err := echo.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = echo.Process.Kill(); _ = echo.Wait() }()

	ua, err := Start(ctx, t.TempDir(), Options{ToneHz: 660})
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	time.Sleep(300 * time.Millisecond) // SIPp binds its port
	if err := ua.Dial("sip:echo@127.0.0.1:" + strconv.Itoa(port)); err != nil {
		t.Fatal(err)
	}
	if _, err := ua.WaitEvent(ctx, "CALL_ESTABLISHED"); err != nil {
		t.Fatalf("%v\n%s", err, ua.Console())
	}
	time.Sleep(3 * time.Second)
	pcm, rate, err := ua.Received()
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) < rate {
		t.Fatalf("heard %d samples at %d Hz, want at least a second", len(pcm), rate)
	}
	last := pcm[len(pcm)-rate:]
	own, other := codectest.Goertzel(last, rate, 660), codectest.Goertzel(last, rate, 440)
	t.Logf("heard 660 Hz at %.3f, 440 Hz at %.4f (%d Hz)", own, other, rate)
	if own < 0.1 || other > own/20 {
		t.Errorf("echo: 660 Hz at %.3f, 440 Hz at %.3f", own, other)
	}
	if err := ua.Hangup(); err != nil {
		t.Fatal(err)
	}
	if _, err := ua.WaitEvent(ctx, "CALL_CLOSED"); err != nil {
		t.Fatal(err)
	}
}
