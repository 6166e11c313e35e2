package nginxrtmp

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// ModulePath is where Debian's libnginx-mod-rtmp installs the module.
const ModulePath = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// startTimeout bounds the wait for a new nginx to listen.
const startTimeout = 10 * time.Second

// Check reports (wrapping ErrMissing) what is not installed: the nginx
// command or its RTMP module.
func Check() error {
	if _, err := exec.LookPath("nginx"); err != nil {
		return fmt.Errorf("%w: nginx (apt-get install nginx): %w", ErrMissing, err)
	}
	if _, err := os.Stat(ModulePath); err != nil {
		return fmt.Errorf("%w: nginx's RTMP module (apt-get install libnginx-mod-rtmp): %w", ErrMissing, err)
	}
	return nil
}

// FreePort returns a loopback TCP port that nothing listens on.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Server is one nginx process.
type Server struct {
	// Port it listens on, on 127.0.0.1.
	Port int
	// Dir holds its configuration and error log; RecDir its recordings.
	Dir, RecDir string

	cmd    *exec.Cmd
	out    bytes.Buffer
	exited chan struct{}
	once   sync.Once
}

// Start runs nginx on port (0: a free one) with its files in dir, which
// must exist and should be empty, and returns once it accepts
// connections.
func Start(dir string, port int) (*Server, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	if port == 0 {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		port = p
	}
	rec := filepath.Join(dir, "rec")
	if err := os.MkdirAll(rec, 0o777); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`load_module %s;
daemon off;
master_process off;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 64; }
rtmp {
	server {
		listen 127.0.0.1:%d;
		application live {
			live on;
			record all;
			record_path %s;
			record_unique off;
		}
	}
}
`, ModulePath, dir, dir, port, rec)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	s := &Server{Port: port, Dir: dir, RecDir: rec, exited: make(chan struct{})}
	s.cmd = exec.Command("nginx", "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"))
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStart, err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("%w: it exited (%s): %s %s", ErrStart, s.cmd.ProcessState, s.out.String(), s.ErrorLog())
		default:
		}
		if time.Now().After(deadline) {
			s.Kill()
			return nil, fmt.Errorf("%w: nothing listens on %s: %w", ErrStart, s.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Addr is the host:port nginx listens on.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// URL is the address to publish or play stream key at.
func (s *Server) URL(key string) string { return "rtmp://" + s.Addr() + "/live/" + key }

// Recording is the path nginx records stream key to.
func (s *Server) Recording(key string) string { return filepath.Join(s.RecDir, key+".flv") }

// ErrorLog is what nginx has logged so far.
func (s *Server) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "error.log"))
	return string(b)
}

// Kill ends nginx at once (SIGKILL), as a crashing ingest would go, and
// waits for it. Recordings in progress are left as they are.
func (s *Server) Kill() {
	s.once.Do(func() { _ = s.cmd.Process.Kill() })
	<-s.exited
}

// Restart kills s (if it still runs) and starts a new nginx on the same
// port with its files in dir.
func (s *Server) Restart(dir string) (*Server, error) {
	s.Kill()
	return Start(dir, s.Port)
}
