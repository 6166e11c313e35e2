package lockout

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newLimiter(c *clock, log *bytes.Buffer) *Limiter {
	return New(Options{Now: c.now, Logger: slog.New(slog.NewTextHandler(log, nil))})
}

// Ten failures within a minute lock the client out for five minutes;
// other clients, and the same one afterwards, are not.
func TestLockoutAfterTooManyFailures(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	var log bytes.Buffer
	l := newLimiter(c, &log)
	for i := range 10 {
		if !l.Allow("192.0.2.1:4000") {
			t.Fatalf("refused before failure %d", i+1)
		}
		l.Fail("192.0.2.1:4000")
		c.add(time.Second)
	}
	if l.Allow("192.0.2.1:5000") {
		t.Fatal("a client with 10 failures in a minute is let in (another port, same host)")
	}
	if !l.Allow("192.0.2.2:4000") {
		t.Fatal("another client is refused")
	}
	c.add(5 * time.Minute)
	if !l.Allow("192.0.2.1:4000") {
		t.Fatal("still refused after the lockout")
	}
}

// Failures spread wider than the window never lock out.
func TestFailuresOutsideTheWindowAreForgotten(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	var log bytes.Buffer
	l := newLimiter(c, &log)
	for i := range 30 {
		if !l.Allow("192.0.2.1:1") {
			t.Fatalf("locked out after %d failures 7 s apart", i)
		}
		l.Fail("192.0.2.1:1")
		c.add(7 * time.Second)
	}
}

// IPv6 clients count by /64; IPv4 in IPv6 as IPv4.
func TestKey(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.1:80":               "192.0.2.1",
		"[::ffff:192.0.2.1]:80":      "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":            "2001:db8:1:3::/64",
		"pipe":                       "pipe",
	} {
		if got := Key(addr); got != want {
			t.Errorf("Key(%q) = %q, want %q", addr, got, want)
		}
	}
}

// Thousands of failures and refusals within a minute make one log line;
// the next, a minute later, counts what happened meanwhile.
func TestLogIsASummary(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	var log bytes.Buffer
	l := newLimiter(c, &log)
	for i := range 3000 {
		addr := fmt.Sprintf("198.51.100.%d:1", i%250)
		if l.Allow(addr) {
			l.Fail(addr)
		}
		c.add(10 * time.Millisecond)
	}
	if n := strings.Count(log.String(), "\n"); n != 1 {
		t.Fatalf("%d log lines in 30 s:\n%s", n, log.String())
	}
	c.add(time.Minute)
	l.Fail("198.51.100.1:1")
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "clients_locked_out=250") || !strings.Contains(lines[1], "level=WARN") {
		t.Fatalf("summary:\n%s", log.String())
	}
}
