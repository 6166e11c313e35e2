package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tessera-mcu/tessera/internal/redistest"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/cluster"
)

// The cluster settings come from flags, the environment and YAML like the
// others, and mistakes in them are configuration errors.
func TestClusterConfig(t *testing.T) {
	cfg, err := loadConfig([]string{"-cluster-redis", "127.0.0.1:6379", "-cluster-node", "n1"},
		env(map[string]string{"TESSERA_CLUSTER_PREFIX": "t1:", "TESSERA_CLUSTER_API_ADDR": "10.0.0.5:8088"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Cluster
	if c.ClusterRedis != "127.0.0.1:6379" || c.ClusterNode != "n1" || c.ClusterPrefix != "t1:" || c.ClusterAPIAddr != "10.0.0.5:8088" {
		t.Fatalf("cluster config %+v", c)
	}
	if d := defaults().Cluster; d.ClusterRedis != "" || d.ClusterPrefix != "tessera:" {
		t.Fatalf("defaults %+v: want a single node", d)
	}
	for _, args := range [][]string{
		{"-cluster-redis", "redis"},
		{"-cluster-redis", "127.0.0.1:6379", "-cluster-node", "a b"},
		{"-cluster-redis", "127.0.0.1:6379", "-cluster-api-addr", "0.0.0.0:8088"},
		{"-cluster-redis", "127.0.0.1:6379", "-cluster-api-addr", "host"},
		{"-cluster-redis", "127.0.0.1:6379", "-cluster-prefix", ""},
	} {
		if _, err := loadConfig(args, env(nil), io.Discard); !errors.Is(err, errConfig) {
			t.Errorf("%q: %v, want a configuration error", args, err)
		}
	}
}

// A Redis that cannot be reached at start is an error that says so.
func TestRunClusterRedisUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	err = run(context.Background(), []string{"-listen", "127.0.0.1:0", "-media-port", "0", "-media-bind", "127.0.0.1",
		"-ws-listen", "", "-sip-listen", "", "-cluster-redis", addr}, env(nil), io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "cannot be reached") || !errors.Is(err, cluster.ErrUnavailable) {
		t.Fatalf("run with Redis away: %v", err)
	}
}

// A server started with -cluster-redis joins the cluster with the
// addresses it listens at and reports its load (the demo room); a SIP
// INVITE for a room another node hosts gets 302 to that node; on SIGTERM
// it is marked draining before it stops taking clients, and it leaves
// the cluster when it has stopped.
func TestRunJoinsClusterAndDrains(t *testing.T) {
	srv := redistest.New(t)
	store, err := cluster.Open(cluster.Config{Addr: srv.Addr(), Prefix: "run:"})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sipPort := freeUDPPort(t)
	mediaLo := 30000 + 2*(sipPort%8000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	metricsAddr, key := freeAddr(t), "scrape-key"
	args := []string{"-listen", "127.0.0.1:0", "-media-port", "0", "-media-bind", "127.0.0.1", "-ws-listen", "",
		"-sip-listen", "127.0.0.1:" + strconv.Itoa(sipPort), "-sip-media-ports", strconv.Itoa(mediaLo) + "-" + strconv.Itoa(mediaLo+9),
		"-cluster-redis", srv.Addr(), "-cluster-node", "n1", "-cluster-prefix", "run:", "-drain-delay", "1s",
		"-metrics-listen", metricsAddr, "-metrics-key", key}
	go func() { done <- run(ctx, args, env(nil), io.Discard, ready) }()
	var api string
	select {
	case api = <-ready:
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}

	info, err := store.Node(context.Background(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	if info.APIAddr != api || !strings.HasPrefix(info.MediaAddr, "127.0.0.1:") || info.SIPAddr != "127.0.0.1:"+strconv.Itoa(sipPort) || info.Draining {
		t.Fatalf("node info %+v (api at %s, SIP port %d)", info, api, sipPort)
	}
	deadline := time.Now().Add(5 * time.Second)
	for info.Load.Rooms != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("load %+v, want the demo room", info.Load)
		}
		time.Sleep(100 * time.Millisecond)
		info, _ = store.Node(context.Background(), "n1")
	}

	// The metrics show the node's part in the cluster: the demo room's
	// lease, and no failures.
	if m := getMetrics(t, metricsAddr, key); m.value(t, "tessera_cluster_hosted_rooms") != 1 ||
		m.value(t, "tessera_cluster_redis_failures_total", "what", "heartbeat") != 0 {
		t.Fatalf("cluster metrics:\n%s", m.raw)
	}

	// Room 77 hosted on node n2: an INVITE to n1 is sent there.
	n2, err := store.Join(context.Background(), cluster.NodeInfo{ID: "n2", SIPAddr: "127.0.0.2:5080"})
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	if _, err := n2.Claim(context.Background(), 77); err != nil {
		t.Fatal(err)
	}
	res := invite(t, "77*99", sipPort)
	if res.StatusCode != 302 || res.Contact() == nil || res.Contact().Address.String() != "sip:77*99@127.0.0.2:5080" {
		t.Fatalf("INVITE for a room on n2: %d %v", res.StatusCode, res.Contact())
	}
	if res := invite(t, "78", sipPort); res.StatusCode != 404 {
		t.Fatalf("INVITE for no room: %d", res.StatusCode)
	}
	// Room 79 is stored with a PIN and hosted nowhere; with n2 draining
	// it is placed on n1, which opens it from its stored configuration:
	// a wrong PIN is refused (403), not an unknown room (404).
	if err := n2.SetDraining(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(map[string]any{"config": room.Config{ID: 79, Pin: "4321"}})
	if err := store.CreateRoom(context.Background(), 79, doc); err != nil {
		t.Fatal(err)
	}
	if res := invite(t, "79*1111", sipPort); res.StatusCode != 403 {
		t.Fatalf("INVITE with a wrong PIN for a stored room placed here: %d", res.StatusCode)
	}
	if h, ok, err := store.Host(context.Background(), 79); err != nil || !ok || h != "n1" {
		t.Fatalf("room 79 hosted by %q (%v %v), want n1", h, ok, err)
	}

	cancel()
	time.Sleep(300 * time.Millisecond) // within the drain delay
	if info, err := store.Node(context.Background(), "n1"); err != nil || !info.Draining {
		t.Fatalf("node while draining: %+v %v", info, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop")
	}
	if _, err := store.Node(context.Background(), "n1"); !errors.Is(err, cluster.ErrNoNode) {
		t.Fatalf("node after the server stopped: %v, want gone", err)
	}
}

// The SIP locator over the store: a room hosted here is not elsewhere;
// a room nobody knows is room.ErrRoomNotFound.
func TestSIPLocator(t *testing.T) {
	srv := redistest.New(t)
	store, err := cluster.Open(cluster.Config{Addr: srv.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	n, err := store.Join(ctx, cluster.NodeInfo{ID: "me", SIPAddr: "127.0.0.1:5060"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if _, err := n.Claim(ctx, 5); err != nil {
		t.Fatal(err)
	}
	loc := sipLocator{store: store, self: "me"}
	if addr, elsewhere, err := loc.Locate(ctx, 5); err != nil || elsewhere || addr != "127.0.0.1:5060" {
		t.Fatalf("room hosted here: %q %v %v", addr, elsewhere, err)
	}
	if _, _, err := loc.Locate(ctx, 6); !errors.Is(err, room.ErrRoomNotFound) {
		t.Fatalf("unknown room: %v", err)
	}
}

// invite sends an INVITE for user to the SIP port on loopback and returns
// the final response.
func invite(t *testing.T, user string, port int) *sip.Response {
	t.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: port})
	req.SetBody([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "phone", Host: "127.0.0.1", Port: 5999}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := client.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
