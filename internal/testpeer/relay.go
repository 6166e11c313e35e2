package testpeer

import (
	"container/heap"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Relay is a userspace UDP relay that stands between one client and one
// server on loopback and impairs the link between them: random loss,
// delay with jitter, and outages. It forwards datagrams as they are, so
// STUN, DTLS and SRTP pass through untouched. The client sends to the
// relay's client side, which stands in for the server; the relay sends
// to the server from its server side, which the server takes for the
// client. It stands in for the kernel's netem, which the test machines
// lack.
type Relay struct {
	clientSide *net.UDPConn
	serverSide *net.UDPConn

	server atomic.Pointer[net.UDPAddr] // where the server side sends
	client atomic.Pointer[net.UDPAddr] // the client, as last heard from

	mu       sync.Mutex
	impaired [2]Impairment // by direction index
	outage   bool
	until    time.Time // the outage's end; zero: until Resume

	dirs [2]*relayDirection
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// Direction selects one or both ways through a Relay.
type Direction int

const (
	// ToServer is the way from the client to the server.
	ToServer Direction = 1 << iota
	// ToClient is the way from the server to the client.
	ToClient
	// BothWays is both.
	BothWays = ToServer | ToClient
)

// Impairment is what a Relay does to the datagrams of one direction.
type Impairment struct {
	// Loss is the probability that a datagram is dropped (0..1).
	Loss float64
	// Delay is added to every datagram.
	Delay time.Duration
	// Jitter varies each datagram's delay uniformly within Delay±Jitter
	// (never below zero). Datagrams whose delays differ by more than
	// their spacing overtake each other unless InOrder is set.
	Jitter time.Duration
	// InOrder holds a datagram back until those that came before it have
	// left: jitter without reordering.
	InOrder bool
}

// RelayStats counts the datagrams of one direction.
type RelayStats struct {
	// Received datagrams came in (from anyone, on the side the direction
	// starts from).
	Received uint64
	// Forwarded datagrams left the relay.
	Forwarded uint64
	// Lost datagrams were dropped at random (Impairment.Loss).
	Lost uint64
	// Cut datagrams were dropped by an outage, on arrival or while they
	// were delayed.
	Cut uint64
	// Overflow datagrams were dropped because too many were delayed.
	Overflow uint64
	// Unrouted datagrams had nowhere to go (no server set, no client
	// heard from yet) or came to the server side from someone other than
	// the server.
	Unrouted uint64
}

// RelayConfig configures NewRelay.
type RelayConfig struct {
	// Server is where the relay forwards the client's datagrams. It may be
	// set later (SetServer); a Peer with Options.Relay sets it from the
	// server's answer.
	Server *net.UDPAddr
	// Seed makes the random loss and jitter reproducible: the same seed and
	// the same datagrams give the same decisions.
	Seed uint64
}

// maxDelayed bounds the datagrams held for delay in one direction.
const maxDelayed = 4096

// NewRelay opens the relay's two sockets on 127.0.0.1 and starts it. It
// forwards unimpaired until told otherwise. Close it when done.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	cs, err := net.ListenUDP("udp4", lo)
	if err != nil {
		return nil, err
	}
	ss, err := net.ListenUDP("udp4", lo)
	if err != nil {
		cs.Close()
		return nil, err
	}
	r := &Relay{clientSide: cs, serverSide: ss, done: make(chan struct{})}
	if cfg.Server != nil {
		r.SetServer(cfg.Server)
	}
	r.dirs[0] = newRelayDirection(r, ss, r.server.Load, rand.New(rand.NewPCG(cfg.Seed, 1)))
	r.dirs[1] = newRelayDirection(r, cs, r.client.Load, rand.New(rand.NewPCG(cfg.Seed, 2)))
	r.wg.Add(4)
	go r.readClient()
	go r.readServer()
	go r.dirs[0].send()
	go r.dirs[1].send()
	return r, nil
}

// ClientSide is the address the client sends to: it stands in for the
// server.
func (r *Relay) ClientSide() *net.UDPAddr { return r.clientSide.LocalAddr().(*net.UDPAddr) }

// ServerSide is the address the server sees the client's datagrams come
// from and sends its own to.
func (r *Relay) ServerSide() *net.UDPAddr { return r.serverSide.LocalAddr().(*net.UDPAddr) }

// SetServer sets where the client's datagrams go.
func (r *Relay) SetServer(a *net.UDPAddr) {
	c := *a
	r.server.Store(&c)
}

// Impair sets the impairment of the given directions (a zero Impairment
// forwards untouched). Datagrams already delayed keep their times.
func (r *Relay) Impair(d Direction, im Impairment) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.impaired {
		if d&(1<<i) != 0 {
			r.impaired[i] = im
		}
	}
}

// Outage cuts the link both ways for d: every datagram that arrives, and
// every delayed one due, is dropped until then. d <= 0 cuts it until
// Resume.
func (r *Relay) Outage(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outage = true
	r.until = time.Time{}
	if d > 0 {
		r.until = time.Now().Add(d)
	}
}

// Resume ends an outage.
func (r *Relay) Resume() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outage = false
}

// Cut reports whether the link is down at t.
func (r *Relay) Cut(t time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cutLocked(t)
}

func (r *Relay) cutLocked(t time.Time) bool {
	return r.outage && (r.until.IsZero() || t.Before(r.until))
}

// Stats returns the counters of one direction: ToClient's, or else
// ToServer's.
func (r *Relay) Stats(d Direction) RelayStats {
	dir := r.dirs[0]
	if d == ToClient {
		dir = r.dirs[1]
	}
	return RelayStats{
		Received: dir.received.Load(), Forwarded: dir.forwarded.Load(), Lost: dir.lost.Load(), Cut: dir.cut.Load(),
		Overflow: dir.overflow.Load(), Unrouted: dir.unrouted.Load(),
	}
}

// Close stops the relay and waits for its goroutines.
func (r *Relay) Close() error {
	var err error
	r.once.Do(func() {
		close(r.done)
		err = errors.Join(r.clientSide.Close(), r.serverSide.Close())
	})
	r.wg.Wait()
	return err
}

// readClient takes the client's datagrams towards the server.
func (r *Relay) readClient() {
	defer r.wg.Done()
	buf := make([]byte, 65536)
	var last *net.UDPAddr
	for {
		n, from, err := r.clientSide.ReadFromUDP(buf)
		if err != nil {
			if isClosed(err) {
				return
			}
			continue
		}
		r.dirs[0].received.Add(1)
		if last == nil || !last.IP.Equal(from.IP) || last.Port != from.Port {
			last = from
			r.client.Store(from)
		}
		r.dirs[0].arrive(buf[:n], 0)
	}
}

// readServer takes the server's datagrams towards the client.
func (r *Relay) readServer() {
	defer r.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := r.serverSide.ReadFromUDP(buf)
		if err != nil {
			if isClosed(err) {
				return
			}
			continue
		}
		r.dirs[1].received.Add(1)
		if s := r.server.Load(); s == nil || !s.IP.Equal(from.IP) || s.Port != from.Port {
			r.dirs[1].unrouted.Add(1)
			continue
		}
		r.dirs[1].arrive(buf[:n], 1)
	}
}

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

// relayDirection is one way through the relay: its reader decides each
// datagram's fate; its sender writes the delayed ones when they are due.
type relayDirection struct {
	r   *Relay
	out *net.UDPConn
	to  func() *net.UDPAddr
	rng *rand.Rand // the reader's only

	mu      sync.Mutex
	queue   delayQueue
	seq     uint64
	lastDue time.Time // the latest time given so far (InOrder)
	wake    chan struct{}

	received, forwarded, lost, cut, overflow, unrouted atomic.Uint64
}

func newRelayDirection(r *Relay, out *net.UDPConn, to func() *net.UDPAddr, rng *rand.Rand) *relayDirection {
	return &relayDirection{r: r, out: out, to: to, rng: rng, wake: make(chan struct{}, 1)}
}

// arrive decides what happens to a datagram that just came in (the reader
// goroutine; b is reused after it returns).
func (d *relayDirection) arrive(b []byte, idx int) {
	now := time.Now()
	d.r.mu.Lock()
	im, cut := d.r.impaired[idx], d.r.cutLocked(now)
	d.r.mu.Unlock()
	if cut {
		d.cut.Add(1)
		return
	}
	if im.Loss > 0 && d.rng.Float64() < im.Loss {
		d.lost.Add(1)
		return
	}
	delay := im.Delay
	if im.Jitter > 0 {
		delay += time.Duration((d.rng.Float64()*2 - 1) * float64(im.Jitter))
	}
	delay = max(delay, 0)
	due := now.Add(delay)
	d.mu.Lock()
	if im.InOrder && due.Before(d.lastDue) {
		due = d.lastDue
	}
	if due.After(d.lastDue) {
		d.lastDue = due
	}
	if len(d.queue) == 0 && !due.After(now) {
		// Nothing is waiting and this one is due: straight out.
		d.write(b)
		d.mu.Unlock()
		return
	}
	if len(d.queue) >= maxDelayed {
		d.mu.Unlock()
		d.overflow.Add(1)
		return
	}
	d.seq++
	heap.Push(&d.queue, delayed{data: append([]byte(nil), b...), due: due, seq: d.seq})
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// write sends a datagram on unless the link is cut now (under mu).
func (d *relayDirection) write(b []byte) {
	to := d.to()
	if to == nil {
		d.unrouted.Add(1)
		return
	}
	if d.r.Cut(time.Now()) {
		d.cut.Add(1)
		return
	}
	if _, err := d.out.WriteToUDP(b, to); err == nil {
		d.forwarded.Add(1)
	}
}

// send writes delayed datagrams when they are due, until the relay closes.
// It writes under mu, as arrive does when it sends straight out, so a
// datagram never overtakes one due before it.
func (d *relayDirection) send() {
	defer d.r.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		wait := time.Duration(-1)
		d.mu.Lock()
		for len(d.queue) > 0 {
			if w := time.Until(d.queue[0].due); w > 0 {
				wait = w
				break
			}
			d.write(heap.Pop(&d.queue).(delayed).data)
		}
		d.mu.Unlock()
		var tick <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-d.r.done:
			return
		case <-d.wake:
		case <-tick:
		}
		// Since Go 1.23 a stopped or reset timer delivers no stale tick.
		timer.Stop()
	}
}

// delayed is a datagram waiting for its time.
type delayed struct {
	data []byte
	due  time.Time
	seq  uint64 // arrival order, to break ties
}

// delayQueue is a min-heap of delayed datagrams by due time.
type delayQueue []delayed

func (q delayQueue) Len() int { return len(q) }
func (q delayQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q delayQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *delayQueue) Push(x any)   { *q = append(*q, x.(delayed)) }
func (q *delayQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	old[len(old)-1] = delayed{}
	*q = old[:len(old)-1]
	return x
}

// viaRelay rewrites the ICE candidates of a session description so that
// they point at addr: in every media section the first UDP candidate
// takes addr's IP and port, and the other candidates (further UDP ones,
// TCP ones) are left out, so that the side reading it can reach its peer
// only through the relay. It returns the rewritten description and the
// address of the first UDP candidate it replaced (nil if none).
func viaRelay(desc string, addr *net.UDPAddr) (string, *net.UDPAddr) {
	var first *net.UDPAddr
	lines := strings.Split(desc, "\r\n")
	out := lines[:0]
	kept := false // a candidate kept in this media section
	for _, l := range lines {
		if strings.HasPrefix(l, "m=") {
			kept = false
		}
		if !strings.HasPrefix(l, "a=candidate:") {
			out = append(out, l)
			continue
		}
		// a=candidate:<foundation> <component> <transport> <priority>
		// <address> <port> typ <type> ... (RFC 8839, section 5.1)
		f := strings.Fields(l)
		if len(f) < 8 || !strings.EqualFold(f[2], "udp") || kept {
			continue
		}
		if first == nil {
			port, err := strconv.Atoi(f[5])
			if ip := net.ParseIP(f[4]); ip != nil && err == nil {
				first = &net.UDPAddr{IP: ip, Port: port}
			}
		}
		f[4], f[5] = addr.IP.String(), strconv.Itoa(addr.Port)
		out = append(out, strings.Join(f, " "))
		kept = true
	}
	return strings.Join(out, "\r\n"), first
}
