package e2etool

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Script is a driver script (a browser under playwright, an npm client)
// that a test talks to while it runs: the test writes to its stdin and
// reads its stdout a line at a time.
type Script struct {
	// Stdin is the script's standard input; closing it tells the
	// scripts that wait on it to finish.
	Stdin io.WriteCloser
	// Lines are its standard output's lines; closed when it ends.
	Lines <-chan string

	mu     sync.Mutex
	stderr strings.Builder
	exited <-chan struct{}
}

// StartScript runs node with args in dir, with env added to the test's
// environment. When the test ends, the script's stdin is closed and it
// has 30 s to exit before it is killed; a failed test logs its stderr.
func StartScript(t testing.TB, node, dir string, env []string, args ...string) *Script {
	t.Helper()
	cmd := exec.Command(node, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	s := &Script{}
	cmd.Stderr = writerFunc(func(p []byte) (int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.stderr.Write(p)
	})
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Its stdout is a pipe of our own, not exec's: exec closes its pipes
	// once the process has exited, which may be before the last lines
	// are read.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = pw
	s.Stdin = stdin
	s.exited, err = StartChild(cmd)
	_ = pw.Close()
	if err != nil {
		_ = pr.Close()
		t.Fatal(err)
	}
	lines := make(chan string, 256)
	read := make(chan struct{})
	s.Lines = lines
	go func() {
		defer close(read)
		defer close(lines)
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-s.exited
		}
		// Whatever it wrote is read; a child it left holding the pipe
		// does not hold up the test.
		go func() {
			for range lines {
			}
		}()
		select {
		case <-read:
		case <-time.After(5 * time.Second):
		}
		_ = pr.Close()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", args[0], s.Stderr())
		}
	})
	return s
}

// Next returns the script's next line, failing the test when the script
// ends first or says nothing within d.
func (s *Script) Next(t testing.TB, d time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-s.Lines:
		if !ok {
			t.Fatalf("the script ended: %s", s.Stderr())
		}
		return l
	case <-time.After(d):
		t.Fatalf("no word from the script in %v: %s", d, s.Stderr())
	}
	return ""
}

// Stderr is what the script has written to its standard error so far.
func (s *Script) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
