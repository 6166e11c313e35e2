package redistest

import (
	"net"
	"testing"
	"time"
)

// The server answers, keeps its data across Stop and Start on the same
// port, refuses connections while stopped, and is gone after cleanup.
func TestStopStartKeepsPortAndData(t *testing.T) {
	var addr string
	t.Run("server", func(t *testing.T) {
		s := New(t)
		addr = s.Addr()
		if r, err := s.Do("SET", "k", "v"); err != nil || r != "+OK" {
			t.Fatalf("SET: %q %v", r, err)
		}
		if v, ok, err := s.Get("k"); err != nil || !ok || v != "v" {
			t.Fatalf("GET k: %q %v %v", v, ok, err)
		}
		if v, ok, err := s.Get("missing"); err != nil || ok {
			t.Fatalf("GET missing: %q %v %v", v, ok, err)
		}
		s.Stop()
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("a stopped server still accepts connections on %s", addr)
		}
		s.Start()
		if s.Addr() != addr {
			t.Fatalf("address after Start %s, want %s", s.Addr(), addr)
		}
		if r, err := s.Do("EXISTS", "k"); err != nil || r != ":1" {
			t.Fatalf("EXISTS after restart: %q %v", r, err)
		}
	})
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("the server still runs after its test ended")
	}
}
