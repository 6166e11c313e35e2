package rtc

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/net/ipv4"

	"github.com/tessera-mcu/tessera/internal/loglimit"
)

// Batched I/O on the media port. Every WebRTC packet in and out crosses
// the one UDP socket, a system call each: with a composite going to many
// viewers that is thousands of sendto calls a second, and on a virtual
// machine a system call costs several microseconds. batchConn sits
// between pion's UDP mux and the socket: writes are queued and sent by
// one goroutine with sendmmsg, as many as have gathered since its last
// call (a viewer's whole picture, or several viewers'); reads take what
// the socket holds with one recvmmsg and hand it out a datagram at a
// time.
//
// pion's mux uses the netip.AddrPort methods (ice.AddrPortReaderWriter)
// when its connection has them; the net.Addr ones go to the socket
// directly (ICE's few STUN writes among them).

const (
	// batchSize is the most datagrams one sendmmsg or recvmmsg moves.
	batchSize = 64
	// maxQueued bounds the datagrams waiting to be sent; more are
	// dropped and counted (a socket that cannot keep up).
	maxQueued = 4096
	// batchReadSize is the buffer of each datagram read: pion's own
	// receive buffer size (ice's receiveMTU).
	batchReadSize = 8192
)

// batchStats counts what batchConn did.
type batchStats struct {
	// Sends are sendmmsg calls and Sent the datagrams they sent;
	// Receives and Received, the same for recvmmsg.
	Sends, Sent, Receives, Received uint64
	// QueueDrops are datagrams dropped on a full send queue; SendErrors,
	// datagrams the socket refused.
	QueueDrops, SendErrors uint64
}

type batchConn struct {
	*net.UDPConn
	pc *ipv4.PacketConn

	mu      sync.Mutex
	queue   []ipv4.Message // waiting to be sent
	free    [][]byte       // buffers of sent datagrams, for reuse
	addrs   map[netip.AddrPort]*net.UDPAddr
	closed  bool
	wake    chan struct{} // cap 1: the queue has something
	done    chan struct{} // closed by Close
	flushed chan struct{} // closed when the sender has returned

	// The reader's batch (one reader: pion's mux worker).
	rmsgs      []ipv4.Message
	rpos, rlen int

	sends, sent, receives, received atomic.Uint64
	queueDrops, sendErrors          atomic.Uint64
	log                             *slog.Logger
	dropLog                         loglimit.Limiter
}

func newBatchConn(udp *net.UDPConn, log *slog.Logger) *batchConn {
	c := &batchConn{
		UDPConn: udp,
		log:     log,
		pc:      ipv4.NewPacketConn(udp),
		addrs:   make(map[netip.AddrPort]*net.UDPAddr),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		flushed: make(chan struct{}),
		rmsgs:   make([]ipv4.Message, batchSize),
	}
	for i := range c.rmsgs {
		c.rmsgs[i].Buffers = [][]byte{make([]byte, batchReadSize)}
	}
	go c.sender()
	return c
}

// WriteToAddrPort queues a copy of b for addr and returns; the sender
// sends it. An error is not reported to the caller (as for a datagram
// lost on the way): it is counted.
func (c *batchConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	if len(c.queue) >= maxQueued {
		c.mu.Unlock()
		c.dropLog.Warn(c.log, "media port send queue full: datagrams dropped", "dropped", c.queueDrops.Add(1))
		return len(b), nil
	}
	ua := c.addrs[addr]
	if ua == nil {
		if len(c.addrs) >= maxQueued {
			clear(c.addrs)
		}
		ua = net.UDPAddrFromAddrPort(addr)
		c.addrs[addr] = ua
	}
	var buf []byte
	if n := len(c.free); n > 0 {
		buf, c.free = c.free[n-1], c.free[:n-1]
	}
	buf = append(buf[:0], b...)
	// A slot the queue had before keeps its one-buffer slice (see
	// recycle): a datagram queued costs no allocation once the queue has
	// grown.
	n := len(c.queue)
	c.queue = slices.Grow(c.queue, 1)[:n+1] // keeps a reused slot as it was
	if m := &c.queue[n]; len(m.Buffers) == 1 {
		m.Buffers[0], m.Addr = buf, ua
	} else {
		*m = ipv4.Message{Buffers: [][]byte{buf}, Addr: ua}
	}
	first := n == 0
	c.mu.Unlock()
	if first {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return len(b), nil
}

// sender sends the queue as it fills, until Close. Two slices take
// turns: the writers append to one while the sender sends the other.
func (c *batchConn) sender() {
	defer close(c.flushed)
	var spare []ipv4.Message
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		c.mu.Lock()
		full := c.queue
		c.queue = spare[:0]
		c.mu.Unlock()
		for rest := full; len(rest) > 0; {
			sent, err := c.pc.WriteBatch(rest[:min(len(rest), batchSize)], 0)
			sent = max(sent, 0)
			c.sends.Add(1)
			c.sent.Add(uint64(sent))
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				// The first datagram not sent was refused: it is dropped,
				// the rest go on.
				sent++
				c.dropLog.Warn(c.log, "media port refused a datagram", "refused", c.sendErrors.Add(1), "err", err)
			}
			c.recycle(rest[:sent])
			rest = rest[sent:]
		}
		spare = full[:0]
	}
}

// recycle keeps the buffers of sent datagrams for the next writes, and
// the messages' one-buffer slices for the next datagrams queued in their
// slots.
func (c *batchConn) recycle(ms []ipv4.Message) {
	c.mu.Lock()
	for i := range ms {
		m := &ms[i]
		if len(c.free) < maxQueued {
			c.free = append(c.free, m.Buffers[0])
		}
		m.Buffers[0] = nil
		*m = ipv4.Message{Buffers: m.Buffers}
	}
	c.mu.Unlock()
}

// ReadFromAddrPort returns the next datagram of the last batch read, or
// reads a batch (waiting for at least one datagram).
func (c *batchConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	if c.rpos >= c.rlen {
		n, err := c.pc.ReadBatch(c.rmsgs, 0)
		if err != nil {
			return 0, netip.AddrPort{}, err
		}
		c.receives.Add(1)
		c.received.Add(uint64(n))
		c.rpos, c.rlen = 0, n
	}
	m := &c.rmsgs[c.rpos]
	c.rpos++
	var ap netip.AddrPort
	if ua, ok := m.Addr.(*net.UDPAddr); ok {
		ap = ua.AddrPort()
	}
	return copy(b, m.Buffers[0][:m.N]), ap, nil
}

// Close stops the sender (what is queued is not sent) and closes the
// socket.
func (c *batchConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	close(c.done)
	err := c.UDPConn.Close() // ends a WriteBatch in progress
	<-c.flushed
	return err
}

func (c *batchConn) stats() batchStats {
	return batchStats{
		Sends: c.sends.Load(), Sent: c.sent.Load(), Receives: c.receives.Load(), Received: c.received.Load(),
		QueueDrops: c.queueDrops.Load(), SendErrors: c.sendErrors.Load(),
	}
}
