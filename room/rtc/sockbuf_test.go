package rtc

import (
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseUDPDrops(t *testing.T) {
	table := `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  459: 00000000:1FFD 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 677629 2 00000000436c5eec 17
  731: 0100007F:1FFD 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 677640 2 000000007075a6b9 3
  732: 0100007F:1FFE 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 677641 2 000000007075a6b9 99
`
	n, ok, err := parseUDPDrops(strings.NewReader(table), 0x1FFD)
	if err != nil || !ok || n != 20 {
		t.Fatalf("drops %d, found %v, err %v; want 20", n, ok, err)
	}
	if _, ok, _ := parseUDPDrops(strings.NewReader(table), 9); ok {
		t.Error("found a socket on a port nobody uses")
	}
}

// A socket nobody reads, with a small buffer, flooded: the kernel's drops
// show in socketDrops. The media port gets the buffer it asks for (as
// root; otherwise what net.core.rmem_max allows, with a warning).
func TestSocketBuffersAndDrops(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	if err := sink.SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	port := sink.LocalAddr().(*net.UDPAddr).Port
	before, err := socketDrops(port)
	if err != nil {
		t.Fatal(err)
	}
	src, err := net.DialUDP("udp4", nil, sink.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	payload := make([]byte, 1200)
	for range 500 {
		_, _ = src.Write(payload)
	}
	time.Sleep(50 * time.Millisecond)
	after, err := socketDrops(port)
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 100 {
		t.Errorf("%d drops counted after 500 datagrams into a 4 KiB buffer nobody reads", after-before)
	}

	e, err := NewEngine(EngineConfig{BindIP: "127.0.0.1", DisableTCP: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	st := e.Stats()
	max, _ := readSysctl("/proc/sys/net/core/rmem_max")
	if st.SocketReceiveBuffer < DefaultSocketBuffer && st.SocketReceiveBuffer < max {
		t.Errorf("media port receive buffer %d, asked %d (rmem_max %d)", st.SocketReceiveBuffer, DefaultSocketBuffer, max)
	}
	if st.SocketDrops != 0 {
		t.Errorf("a new media port has %d drops", st.SocketDrops)
	}
}

// readSysctl reads a number from /proc/sys.
func readSysctl(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}
