// Package redistest runs a private redis-server for one test: on a free
// loopback port, with no persistence configured, its files in the test's
// temporary directory, stopped when the test ends. A test can take the
// server away (Stop) and bring it back on the same port (Start) to act
// out a Redis outage.
//
// A missing redis-server skips the test, except under CI=true or
// scripts/test.sh (TESSERA_E2E=1), where it fails it: there the Debian
// package is installed (scripts/deps.sh test).
package redistest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/e2etool"
)

// Server is one redis-server process of a test.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit <-chan struct{} // closed when cmd has exited
}

// startWait bounds how long a starting server may take to answer PING.
const startWait = 10 * time.Second

// New starts a redis-server for t and stops it when t ends.
func New(t testing.TB) *Server {
	t.Helper()
	bin := need(t)
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	var err error
	for range 3 { // a free port can be taken between probe and bind
		s.port, err = freePort()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.kill)
	return s
}

// need returns the path of redis-server, skipping or failing t when it is
// missing (see the package doc).
func need(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" || os.Getenv("TESSERA_E2E") == "1" {
			t.Fatalf("redis-server missing (scripts/deps.sh test installs it): %v", err)
		}
		t.Skipf("redis-server missing (%v); apt-get install redis-server, or scripts/deps.sh test", err)
	}
	return p
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Port is the server's TCP port; it stays the same across Stop and Start.
func (s *Server) Port() int { return s.port }

// Stop takes the server away: it writes a snapshot of its data into its
// directory and exits, so that Start brings it back with its data as a
// restarted Redis with persistence would (keys whose TTL ran out in
// between are gone). Until Start, connections to the port are refused.
func (s *Server) Stop() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatalf("redistest: Stop of a stopped server")
	}
	// SHUTDOWN closes the connection without a reply when it succeeds.
	_, _ = command(s.Addr(), "SHUTDOWN", "SAVE")
	select {
	case <-s.exit:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exit
	}
	s.cmd = nil
}

// Start brings a stopped server back on the same port and waits until it
// answers PING.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
}

// Do sends one command to the server and returns its reply line (for a
// test's own checks: "+OK", ":1", "$-1", ...).
func (s *Server) Do(args ...string) (string, error) { return command(s.Addr(), args...) }

// Get returns the value of a string key; ok is false when the key does
// not exist.
func (s *Server) Get(key string) (value string, ok bool, err error) {
	c, err := dialCommand(s.Addr(), "GET", key)
	if err != nil {
		return "", false, err
	}
	defer c.Close()
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", false, err
	}
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "$") {
		return "", false, fmt.Errorf("GET %s: %s", key, line)
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 0 {
		return "", false, err
	}
	b := make([]byte, n+2)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", false, err
	}
	return string(b[:n]), true, nil
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("start of a running server")
	}
	logPath := filepath.Join(s.dir, "redis.log")
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--daemonize", "no", "--logfile", "")
	cmd.Stdout, cmd.Stderr = log, log
	// The server dies with the test binary even when the test is killed.
	exit, err := e2etool.StartChild(cmd)
	if err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	deadline := time.Now().Add(startWait)
	for {
		reply, err := command(s.Addr(), "PING")
		if err == nil && reply == "+PONG" {
			break
		}
		select {
		case <-exit:
			return fmt.Errorf("redis-server on port %d exited: %s", s.port, tail(logPath))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exit
			return fmt.Errorf("redis-server on port %d did not answer PING within %v: %s", s.port, startWait, tail(logPath))
		}
	}
	s.cmd, s.exit = cmd, exit
	return nil
}

// kill ends the server at the end of the test.
func (s *Server) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	e2etool.Terminate(s.cmd, s.exit, 5*time.Second)
	s.cmd = nil
}

// command sends one command in the Redis protocol and returns the first
// line of the reply.
func command(addr string, args ...string) (string, error) {
	c, err := dialCommand(addr, args...)
	if err != nil {
		return "", err
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// dialCommand connects to addr and sends one command in the Redis
// protocol; the reply is the caller's to read.
func dialCommand(addr string, args ...string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the end of the server's log, for a failure message.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}
