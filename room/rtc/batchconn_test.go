package rtc

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"
)

func loopbackUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Datagrams written to a batchConn arrive, all of them, in order and
// whole, sent with fewer system calls than datagrams; those that arrive
// for it are read one at a time with their sender's address, several per
// system call.
func TestBatchConnSendsAndReceivesInBatches(t *testing.T) {
	peer := loopbackUDP(t)
	if err := peer.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	udp := loopbackUDP(t)
	if err := udp.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	c := newBatchConn(udp, slog.New(slog.DiscardHandler))
	defer c.Close()
	to := peer.LocalAddr().(*net.UDPAddr).AddrPort()

	const n = 2000
	payload := make([]byte, 1000)
	for i := range n {
		binary.BigEndian.PutUint32(payload, uint32(i))
		payload[len(payload)-1] = byte(i)
		if m, err := c.WriteToAddrPort(payload, to); err != nil || m != len(payload) {
			t.Fatalf("write %d: %d, %v", i, m, err)
		}
	}
	// The caller's buffer is the caller's again at once.
	clear(payload)
	buf := make([]byte, 2000)
	if err := peer.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		m, from, err := peer.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("datagram %d of %d: %v", i, n, err)
		}
		if got := binary.BigEndian.Uint32(buf); m != 1000 || got != uint32(i) || buf[m-1] != byte(i) {
			t.Fatalf("datagram %d: %d bytes, numbered %d", i, m, got)
		}
		if from.Port() != uint16(udp.LocalAddr().(*net.UDPAddr).Port) {
			t.Fatalf("datagram from %v", from)
		}
	}
	st := c.stats()
	t.Logf("sent %d datagrams in %d calls", st.Sent, st.Sends)
	if st.Sent != n || st.Sends >= n || st.QueueDrops != 0 || st.SendErrors != 0 {
		t.Errorf("stats %+v: want %d sent in fewer calls, nothing dropped", st, n)
	}

	// Receiving: datagrams waiting on the socket come in with one call
	// per batch.
	const k = 300
	for i := range k {
		binary.BigEndian.PutUint32(payload, uint32(i))
		if _, err := peer.WriteToUDPAddrPort(payload[:100+i], udp.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
			t.Fatal(err)
		}
	}
	if err := udp.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	small := make([]byte, batchReadSize)
	for i := range k {
		m, from, err := c.ReadFromAddrPort(small)
		if err != nil {
			t.Fatal(err)
		}
		if got := binary.BigEndian.Uint32(small); m != 100+i || got != uint32(i) {
			t.Fatalf("read %d: %d bytes, numbered %d", i, m, got)
		}
		if from != to {
			t.Fatalf("read %d from %v, want %v", i, from, to)
		}
	}
	st = c.stats()
	t.Logf("received %d datagrams in %d calls", st.Received, st.Receives)
	if st.Received != k || st.Receives > (k+batchSize-1)/batchSize+1 {
		t.Errorf("received %d in %d calls, want %d in about %d", st.Received, st.Receives, k, k/batchSize)
	}
}

// Close stops the sender and closes the socket: writes and reads after
// it fail, a read waiting in it returns.
func TestBatchConnClose(t *testing.T) {
	c := newBatchConn(loopbackUDP(t), slog.New(slog.DiscardHandler))
	read := make(chan error, 1)
	go func() {
		_, _, err := c.ReadFromAddrPort(make([]byte, 100))
		read <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.flushed:
	default:
		t.Fatal("the sender outlived Close")
	}
	select {
	case err := <-read:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("read during Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a read in progress did not return on Close")
	}
	if _, err := c.WriteToAddrPort([]byte{1}, netip.MustParseAddrPort("127.0.0.1:9")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
