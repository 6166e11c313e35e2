package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/e2etool"
	"github.com/tessera-mcu/tessera/internal/inbox"
	"github.com/tessera-mcu/tessera/internal/redistest"
)

// The cluster's end-to-end tests run Tessera nodes as processes of the
// binary built from this package, sharing a redis-server of the test.

// clusterPrefix is the nodes' key prefix (the default).
const clusterPrefix = "tessera:"

// leaseTime is room/cluster's default LeaseTTL: how long a dead node's
// rooms stay claimed.
const leaseTime = 5 * time.Second

// built is the tessera binary, built once per test binary into a
// directory TestMain removes.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// tesseraBinary builds this package's command with the repository's
// build tags (scripts/env.sh's GOFLAGS), once.
func tesseraBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		built.dir, built.err = os.MkdirTemp("", "tessera-bin-")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "tessera")
		cmd := exec.Command(goBin, "build", "-o", built.path, ".")
		cmd.Env = os.Environ()
		if !strings.Contains(os.Getenv("GOFLAGS"), "nolibopusfile") {
			cmd.Env = append(cmd.Env, "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -tags=nolibopusfile"))
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// procNode is one Tessera node running as a process.
type procNode struct {
	t     *testing.T
	id    string
	api   string // host:port of its HTTP API and Janus WebSocket (/janus)
	media int    // its media port
	log   string
	extra []string // flags after the usual ones

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit <-chan struct{}
}

// startCluster starts a node per ID on redis, in parallel, and waits
// until each has joined the cluster with its addresses.
func startCluster(t *testing.T, redis *redistest.Server, ids ...string) []*procNode {
	t.Helper()
	return startClusterWith(t, redis, nil, ids...)
}

// startClusterWith is startCluster whose nodes get extra flags too.
func startClusterWith(t *testing.T, redis *redistest.Server, extra []string, ids ...string) []*procNode {
	t.Helper()
	bin := tesseraBinary(t)
	nodes := make([]*procNode, len(ids))
	for i, id := range ids {
		nodes[i] = &procNode{t: t, id: id, api: freeAddr(t), media: freeUDPPort(t),
			log: filepath.Join(t.TempDir(), "node-"+id+".log"), extra: extra}
	}
	for _, n := range nodes {
		n.start(bin, redis.Addr())
		t.Cleanup(n.stop)
	}
	for _, n := range nodes {
		n.waitJoined(redis)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range nodes {
				t.Logf("log of node %s:\n%s", n.id, n.tail())
			}
		}
	})
	return nodes
}

func (n *procNode) start(bin, redisAddr string) {
	n.t.Helper()
	logf, err := os.Create(n.log)
	if err != nil {
		n.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "-listen", n.api, "-ws-listen", "", "-media-port", strconv.Itoa(n.media),
		"-media-bind", "127.0.0.1", "-sip-listen", "", "-demo-room=false", "-workers", "1",
		"-shutdown-timeout", "1s", "-cluster-redis", redisAddr, "-cluster-node", n.id)
	cmd.Args = append(cmd.Args, n.extra...)
	cmd.Env = append(os.Environ(), "TESSERA_LOG_LEVEL=info")
	cmd.Stdout, cmd.Stderr = logf, logf
	// The node dies with the test binary even when the test is killed.
	exit, err := e2etool.StartChild(cmd)
	if err != nil {
		n.t.Fatalf("start node %s: %v", n.id, err)
	}
	n.mu.Lock()
	n.cmd, n.exit = cmd, exit
	n.mu.Unlock()
}

// waitJoined waits until the node answers /readyz and its NodeInfo in
// Redis names its media port.
func (n *procNode) waitJoined(redis *redistest.Server) {
	n.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-n.exit:
			n.t.Fatalf("node %s exited at start:\n%s", n.id, n.tail())
		default:
		}
		if resp, err := http.Get("http://" + n.api + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				v, ok, _ := redis.Get(clusterPrefix + "node:" + n.id)
				var info struct {
					MediaAddr string `json:"media_addr"`
				}
				if ok && json.Unmarshal([]byte(v), &info) == nil && strings.HasSuffix(info.MediaAddr, ":"+strconv.Itoa(n.media)) {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("node %s did not join within 15 s:\n%s", n.id, n.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the node with SIGKILL: nothing is told to anyone.
func (n *procNode) kill() {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return
	}
	if err := n.cmd.Process.Kill(); err != nil {
		n.t.Fatalf("kill node %s: %v", n.id, err)
	}
	<-n.exit
	n.cmd = nil
}

// terminate sends the node SIGTERM (a drain) without waiting.
func (n *procNode) terminate() {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			n.t.Fatal(err)
		}
	}
}

// exited reports whether the node's process has ended.
func (n *procNode) exited() bool {
	select {
	case <-n.exit:
		return true
	default:
		return false
	}
}

// stop ends the node at the end of the test: SIGTERM, then SIGKILL.
func (n *procNode) stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return
	}
	if !e2etool.Terminate(n.cmd, n.exit, 5*time.Second) {
		n.t.Errorf("node %s did not stop on SIGTERM within 5 s", n.id)
	}
	n.cmd = nil
}

// tail is the end of the node's log.
func (n *procNode) tail() string {
	b, _ := os.ReadFile(n.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// hostOf is the node holding room's lease ("" when none does).
func hostOf(t *testing.T, redis *redistest.Server, room uint64) string {
	t.Helper()
	v, _, err := redis.Get(fmt.Sprintf("%sroom:%d:host", clusterPrefix, room))
	if err != nil {
		t.Fatalf("lease of room %d: %v", room, err)
	}
	return v
}

// pluginData is an answer's plugindata.data.
func pluginData(m map[string]any) map[string]any {
	pd, _ := m["plugindata"].(map[string]any)
	d, _ := pd["data"].(map[string]any)
	return d
}

// attach makes a session on the node at addr and attaches plugin.
func attach(t *testing.T, addr, plugin string) *janusWS {
	t.Helper()
	j := dialJanus(t, addr)
	j.sid = id(j.call(map[string]any{"janus": "create"}))
	j.hid = id(j.call(map[string]any{"janus": "attach", "session_id": j.sid, "plugin": plugin}))
	if j.sid == 0 || j.hid == 0 {
		t.Fatalf("session %d handle %d on %s", j.sid, j.hid, addr)
	}
	return j
}

// request sends a plugin request on j's handle and returns the answer's
// plugin data (nil when the answer is a Janus error).
func (j *janusWS) request(body map[string]any) map[string]any {
	j.t.Helper()
	return pluginData(j.call(map[string]any{"janus": "message", "session_id": j.sid, "handle_id": j.hid, "body": body}))
}

// await returns the first message, already seen or to come within d,
// that f accepts.
func (j *janusWS) await(what string, d time.Duration, f func(map[string]any) bool) map[string]any {
	j.t.Helper()
	for i, m := range j.seen {
		if f(m) {
			j.seen = append(j.seen[:i], j.seen[i+1:]...)
			return m
		}
	}
	_ = j.c.SetReadDeadline(time.Now().Add(d))
	for {
		var m map[string]any
		if err := j.c.ReadJSON(&m); err != nil {
			j.t.Fatalf("waiting for %s: %v (seen %v)", what, err, j.seen)
		}
		if f(m) {
			return m
		}
		j.seen = append(j.seen, m)
	}
}

// janodeClient is scripts/e2e/janode-cluster.mjs running: an
// AudioBridge participant driven by the npm janode client.
type janodeClient struct {
	t     *testing.T
	cmd   *exec.Cmd
	out   string // what it received
	lines chan map[string]any
	// reports waits on lines; reports on different matters (its own
	// hangup, a room event) may come in either order, and those passed
	// over stay for later waits.
	reports *inbox.Inbox[map[string]any]
	done    chan error
	log     syncWriter // its stderr
}

// startJanode runs the janode client against the node at addr: it joins
// room with pin, sends a tone of freq and records what it hears for at
// most seconds.
func startJanode(t *testing.T, addr string, room uint64, pin string, freq float64, seconds int) *janodeClient {
	t.Helper()
	node := needJanode(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.opus")
	e2etool.WriteTonePackets(t, in, freq, 100)
	c := &janodeClient{t: t, out: filepath.Join(dir, "out.opus"), lines: make(chan map[string]any, 64), done: make(chan error, 1),
		log: syncWriter{b: &strings.Builder{}}}
	c.reports = inbox.New[map[string]any](c.lines)
	c.cmd = exec.Command(node, "janode-cluster.mjs", "ws://"+addr+"/janus", strconv.FormatUint(room, 10), pin, in, c.out, strconv.Itoa(seconds))
	c.cmd.Dir = e2eDir
	c.cmd.Stderr = &c.log
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		// janode logs to stdout too: the reports are the JSON lines.
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && (m["step"] != nil || m["event"] != nil) {
				c.lines <- m
			}
		}
		c.done <- c.cmd.Wait()
		close(c.lines)
	}()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		for range c.lines {
		}
	})
	return c
}

// expect returns the first report that f accepts, within d; reports it
// passes over stay for later calls.
func (c *janodeClient) expect(what string, d time.Duration, f func(map[string]any) bool) map[string]any {
	c.t.Helper()
	m, err := c.reports.Wait(d, f)
	switch {
	case errors.Is(err, inbox.ErrClosed):
		c.t.Fatalf("janode ended waiting for %s: %v\n%s", what, <-c.done, c.stderr())
	case err != nil:
		c.t.Fatalf("janode: no %s within %v\n%s", what, d, c.stderr())
	}
	return m
}

func (c *janodeClient) stderr() string {
	c.log.mu.Lock()
	defer c.log.mu.Unlock()
	return c.log.b.String()
}

// needJanode returns the node binary, skipping the test when it or the
// npm packages janode and werift are missing; under CI=true or
// TESSERA_E2E=1 (scripts/test.sh, which installs them) a missing piece
// fails the test instead.
func needJanode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	for _, pkg := range []string{"janode", "werift"} {
		if err == nil {
			_, err = os.Stat(filepath.Join(e2eDir, "node_modules", pkg))
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" || os.Getenv("TESSERA_E2E") == "1" {
			t.Fatalf("node or the npm packages janode and werift missing (run scripts/test.sh): %v", err)
		}
		t.Skipf("node or the npm packages janode and werift missing (%v); scripts/test.sh installs them", err)
	}
	return node
}

func step(name string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["step"] == name }
}
