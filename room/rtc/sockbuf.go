package rtc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// DefaultSocketBuffer is the receive and send buffer, in bytes, asked for
// the media port. All media shares the one socket: the kernel's default
// (208 KiB) overflows during bursts (many joins at once), and every
// datagram lost there costs a camera a keyframe.
const DefaultSocketBuffer = 8 << 20

// setSocketBuffers asks for size bytes of receive and send buffer on c.
// The kernel caps an ordinary request at net.core.rmem_max and wmem_max;
// a process allowed to (CAP_NET_ADMIN) goes beyond with SO_RCVBUFFORCE
// and SO_SNDBUFFORCE. It returns what the socket got, and logs a warning
// naming the setting to raise when that is less than asked.
func setSocketBuffers(c *net.UDPConn, size int, log *slog.Logger) (rcv, snd int, err error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var serr error
	cerr := raw.Control(func(fd uintptr) {
		for _, o := range []struct {
			plain, force int
			got          *int
		}{{syscall.SO_RCVBUF, syscall.SO_RCVBUFFORCE, &rcv}, {syscall.SO_SNDBUF, syscall.SO_SNDBUFFORCE, &snd}} {
			// The kernel doubles what it is given (for its bookkeeping)
			// and reports the doubled size.
			if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, o.force, size) != nil {
				_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, o.plain, size)
			}
			n, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, o.plain)
			if err != nil {
				serr = err
				return
			}
			*o.got = n / 2
		}
	})
	if err := errors.Join(cerr, serr); err != nil {
		return 0, 0, err
	}
	if rcv < size {
		log.Warn("media port receive buffer smaller than asked: raise net.core.rmem_max (sysctl -w net.core.rmem_max=...) or run with CAP_NET_ADMIN",
			"asked", size, "got", rcv)
	}
	if snd < size {
		log.Warn("media port send buffer smaller than asked: raise net.core.wmem_max (sysctl -w net.core.wmem_max=...) or run with CAP_NET_ADMIN",
			"asked", size, "got", snd)
	}
	return rcv, snd, nil
}

// socketDrops reads the datagrams the kernel dropped on the UDP socket
// bound to port (its receive buffer was full), from /proc/net/udp and
// /proc/net/udp6.
func socketDrops(port int) (uint64, error) {
	var total uint64
	found := false
	for _, path := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		f, err := os.Open(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return 0, err
		}
		n, ok, err := parseUDPDrops(f, port)
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		total += n
		found = found || ok
	}
	if !found {
		return 0, fmt.Errorf("no UDP socket on port %d in /proc/net", port)
	}
	return total, nil
}

// parseUDPDrops sums the drops column of the sockets bound to port in a
// /proc/net/udp table; ok reports whether there was one.
func parseUDPDrops(r io.Reader, port int) (drops uint64, ok bool, err error) {
	s := bufio.NewScanner(r)
	first := true
	for s.Scan() {
		f := strings.Fields(s.Text())
		if first { // the header
			first = false
			continue
		}
		if len(f) < 13 {
			continue
		}
		_, hexPort, found := strings.Cut(f[1], ":")
		if !found {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || int(p) != port {
			continue
		}
		d, err := strconv.ParseUint(f[len(f)-1], 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("drops column %q: %w", f[len(f)-1], err)
		}
		drops += d
		ok = true
	}
	return drops, ok, s.Err()
}
