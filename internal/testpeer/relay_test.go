package testpeer

import (
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"
)

// relayEnds is a relay with a plain UDP client and server on either side.
type relayEnds struct {
	r              *Relay
	client, server *net.UDPConn
}

func newRelayEnds(t *testing.T, seed uint64) *relayEnds {
	t.Helper()
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	server, err := net.ListenUDP("udp4", lo)
	if err != nil {
		t.Fatal(err)
	}
	client, err := net.ListenUDP("udp4", lo)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRelay(RelayConfig{Server: server.LocalAddr().(*net.UDPAddr), Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
		client.Close()
		server.Close()
	})
	return &relayEnds{r: r, client: client, server: server}
}

// datagram numbers a datagram and stamps when it was sent.
func datagram(i int) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(i))
	binary.BigEndian.PutUint64(b[8:], uint64(time.Now().UnixNano()))
	return b
}

// received is one datagram read: its number, how long it took, its sender.
type received struct {
	i    int
	took time.Duration
	from *net.UDPAddr
}

// read reads datagrams from c until none comes for quiet.
func read(t *testing.T, c *net.UDPConn, quiet time.Duration) []received {
	t.Helper()
	var out []received
	buf := make([]byte, 1500)
	for {
		_ = c.SetReadDeadline(time.Now().Add(quiet))
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return out
		}
		if n != 16 {
			t.Fatalf("datagram of %d bytes", n)
		}
		sent := time.Unix(0, int64(binary.BigEndian.Uint64(buf[8:])))
		out = append(out, received{int(binary.BigEndian.Uint64(buf)), time.Since(sent), from})
	}
}

// handled waits until the relay has read n datagrams from the client, so
// that a test sending many never overflows a socket buffer.
func (e *relayEnds) handled(t *testing.T, n uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := e.r.Stats(ToServer)
		if s.Received >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay handled %+v of %d datagrams", s, n)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func TestRelayForwardsBothWays(t *testing.T) {
	e := newRelayEnds(t, 1)
	for i := range 10 {
		if _, err := e.client.WriteToUDP(datagram(i), e.r.ClientSide()); err != nil {
			t.Fatal(err)
		}
	}
	got := read(t, e.server, 200*time.Millisecond)
	if len(got) != 10 {
		t.Fatalf("server got %d of 10", len(got))
	}
	for k, g := range got {
		if g.i != k || g.from.String() != e.r.ServerSide().String() {
			t.Fatalf("datagram %d: #%d from %v, want #%d from %v", k, g.i, g.from, k, e.r.ServerSide())
		}
	}
	// The server answers the address it saw; the answer reaches the client
	// from the address the client sent to.
	for i := range 10 {
		if _, err := e.server.WriteToUDP(datagram(100+i), got[0].from); err != nil {
			t.Fatal(err)
		}
	}
	back := read(t, e.client, 200*time.Millisecond)
	if len(back) != 10 || back[0].i != 100 || back[0].from.String() != e.r.ClientSide().String() {
		t.Fatalf("client got %d datagrams, first %+v", len(back), back)
	}
	// A stranger writing to the server side reaches nobody.
	stranger, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer stranger.Close()
	_, _ = stranger.WriteToUDP(datagram(999), e.r.ServerSide())
	if got := read(t, e.client, 100*time.Millisecond); len(got) != 0 {
		t.Fatalf("a stranger's datagram went through: %+v", got)
	}
	if s := e.r.Stats(ToServer); s.Forwarded != 10 || s.Lost+s.Cut+s.Overflow+s.Unrouted != 0 {
		t.Errorf("to server: %+v", s)
	}
	if s := e.r.Stats(ToClient); s.Forwarded != 10 || s.Unrouted != 1 {
		t.Errorf("to client: %+v", s)
	}
}

// lossPattern sends n datagrams through a fresh relay with the given seed
// and loss and returns which arrived. It sends 32 at a time and reads what
// the relay forwarded before it sends more, so that no socket buffer
// overflows on a slow machine.
func lossPattern(t *testing.T, seed uint64, loss float64, n int) []bool {
	e := newRelayEnds(t, seed)
	e.r.Impair(ToServer, Impairment{Loss: loss})
	arrived := make([]bool, n)
	got := 0
	buf := make([]byte, 1500)
	for i := 0; i < n; {
		for end := min(i+32, n); i < end; i++ {
			if _, err := e.client.WriteToUDP(datagram(i), e.r.ClientSide()); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for s := e.r.Stats(ToServer); s.Forwarded+s.Lost < uint64(i); s = e.r.Stats(ToServer) {
			if time.Now().After(deadline) {
				t.Fatalf("relay handled %+v of %d datagrams", s, i)
			}
			time.Sleep(100 * time.Microsecond)
		}
		for ; got < int(e.r.Stats(ToServer).Forwarded); got++ {
			_ = e.server.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, _, err := e.server.ReadFromUDP(buf); err != nil {
				t.Fatalf("%d datagrams forwarded, %d read: %v", e.r.Stats(ToServer).Forwarded, got, err)
			}
			arrived[binary.BigEndian.Uint64(buf)] = true
		}
	}
	if extra := read(t, e.server, 100*time.Millisecond); len(extra) != 0 {
		t.Fatalf("%d datagrams more than forwarded", len(extra))
	}
	if s := e.r.Stats(ToServer); int(s.Forwarded+s.Lost) != n {
		t.Fatalf("counters %+v for %d datagrams", s, n)
	}
	return arrived
}

func TestRelayLossIsSeeded(t *testing.T) {
	const n = 2000
	a := lossPattern(t, 42, 0.1, n)
	b := lossPattern(t, 42, 0.1, n)
	c := lossPattern(t, 43, 0.1, n)
	lost, same, differ := 0, true, false
	for i := range n {
		if !a[i] {
			lost++
		}
		same = same && a[i] == b[i]
		differ = differ || a[i] != c[i]
	}
	if !same {
		t.Error("the same seed lost different datagrams")
	}
	if !differ {
		t.Error("another seed lost the same datagrams")
	}
	// 10% of 2000: 200, standard deviation ~13.
	if lost < 140 || lost > 260 {
		t.Errorf("lost %d of %d at 10%%", lost, n)
	}
}

func TestRelayDelayAndJitter(t *testing.T) {
	for _, inOrder := range []bool{false, true} {
		e := newRelayEnds(t, 7)
		const delay, jitter = 40 * time.Millisecond, 20 * time.Millisecond
		e.r.Impair(BothWays, Impairment{Delay: delay, Jitter: jitter, InOrder: inOrder})
		done := make(chan []received)
		go func() { done <- read(t, e.server, 500*time.Millisecond) }()
		const n = 200
		for i := range n {
			if _, err := e.client.WriteToUDP(datagram(i), e.r.ClientSide()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		got := <-done
		if len(got) != n {
			t.Fatalf("in order %v: %d of %d arrived", inOrder, len(got), n)
		}
		reordered := 0
		var sum time.Duration
		for k, g := range got {
			if k > 0 && g.i < got[k-1].i {
				reordered++
			}
			// Never before its time; late only by what a busy machine adds.
			if g.took < delay-jitter {
				t.Errorf("in order %v: datagram %d took %v, less than %v", inOrder, g.i, g.took, delay-jitter)
			}
			sum += g.took
		}
		mean := sum / n
		t.Logf("in order %v: mean delay %v, %d reordered", inOrder, mean, reordered)
		// Held in order, a datagram waits for the latest before it: nearer
		// Delay+Jitter.
		if mean < delay-5*time.Millisecond || mean > delay+jitter+30*time.Millisecond {
			t.Errorf("in order %v: mean delay %v, want about %v", inOrder, mean, delay)
		}
		if inOrder && reordered != 0 {
			t.Errorf("%d datagrams overtaken with InOrder", reordered)
		}
		// Datagrams 1 ms apart with ±20 ms of jitter: most pairs swap.
		if !inOrder && reordered < n/10 {
			t.Errorf("only %d of %d reordered with jitter", reordered, n)
		}
	}
}

func TestRelayOutage(t *testing.T) {
	e := newRelayEnds(t, 1)
	send := func(from, to int) {
		for i := from; i < to; i++ {
			if _, err := e.client.WriteToUDP(datagram(i), e.r.ClientSide()); err != nil {
				t.Fatal(err)
			}
			e.handled(t, uint64(i+1))
		}
	}
	// A timed outage.
	e.r.Outage(300 * time.Millisecond)
	send(0, 10)
	if got := read(t, e.server, 50*time.Millisecond); len(got) != 0 {
		t.Fatalf("%d datagrams went through an outage", len(got))
	}
	time.Sleep(300 * time.Millisecond)
	send(10, 20)
	if got := read(t, e.server, 100*time.Millisecond); len(got) != 10 || got[0].i != 10 {
		t.Fatalf("after the outage: %+v", got)
	}
	// One until Resume; it also cuts datagrams that were delayed into it,
	// and the way back.
	e.r.Impair(ToServer, Impairment{Delay: 100 * time.Millisecond})
	send(20, 25)
	e.r.Outage(0)
	if _, err := e.server.WriteToUDP(datagram(500), e.r.ServerSide()); err != nil {
		t.Fatal(err)
	}
	send(25, 30)
	if got := read(t, e.server, 250*time.Millisecond); len(got) != 0 {
		t.Fatalf("%d datagrams went through an outage", len(got))
	}
	if got := read(t, e.client, 50*time.Millisecond); len(got) != 0 {
		t.Fatalf("%d datagrams came back through an outage", len(got))
	}
	if !e.r.Cut(time.Now().Add(time.Hour)) {
		t.Fatal("an outage until Resume ended by itself")
	}
	e.r.Resume()
	e.r.Impair(ToServer, Impairment{})
	send(30, 40)
	if got := read(t, e.server, 100*time.Millisecond); len(got) != 10 || got[0].i != 30 {
		t.Fatalf("after Resume: %+v", got)
	}
	if s := e.r.Stats(ToServer); s.Forwarded != 20 || s.Cut != 20 {
		t.Errorf("to server: %+v", s)
	}
	if s := e.r.Stats(ToClient); s.Cut != 1 {
		t.Errorf("to client: %+v", s)
	}
}

func TestRelayCloseEndsGoroutines(t *testing.T) {
	r, err := NewRelay(RelayConfig{Server: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}})
	if err != nil {
		t.Fatal(err)
	}
	r.Impair(BothWays, Impairment{Delay: time.Hour})
	c, _ := net.DialUDP("udp4", nil, r.ClientSide())
	defer c.Close()
	_, _ = c.Write(datagram(0))
	closed := make(chan error)
	go func() { closed <- r.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not return")
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestViaRelayRewritesCandidates(t *testing.T) {
	desc := strings.Join([]string{
		"v=0",
		"m=audio 9 UDP/TLS/RTP/SAVPF 111",
		"a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host",
		"a=candidate:2 1 udp 2130706431 10.0.0.5 40000 typ host",
		"a=candidate:3 1 tcp 1671430143 127.0.0.1 40000 typ host tcptype passive",
		"a=end-of-candidates",
		"m=video 9 UDP/TLS/RTP/SAVPF 96",
		"a=candidate:3 1 tcp 1671430143 127.0.0.1 40000 typ host tcptype passive",
		"a=candidate:1 1 UDP 2130706431 127.0.0.1 40000 typ host",
		"",
	}, "\r\n")
	relay := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}
	got, first := viaRelay(desc, relay)
	if first == nil || first.String() != "127.0.0.1:40000" {
		t.Fatalf("first UDP candidate %v, want 127.0.0.1:40000", first)
	}
	want := strings.Join([]string{
		"v=0",
		"m=audio 9 UDP/TLS/RTP/SAVPF 111",
		"a=candidate:1 1 udp 2130706431 127.0.0.1 5555 typ host",
		"a=end-of-candidates",
		"m=video 9 UDP/TLS/RTP/SAVPF 96",
		"a=candidate:1 1 UDP 2130706431 127.0.0.1 5555 typ host",
		"",
	}, "\r\n")
	if got != want {
		t.Fatalf("rewritten:\n%s\nwant:\n%s", got, want)
	}
	if _, first := viaRelay("v=0\r\n", relay); first != nil {
		t.Fatalf("no candidates, yet found %v", first)
	}
}
