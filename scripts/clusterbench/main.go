// Command clusterbench measures a running Tessera cluster from outside:
// three nodes sharing one Redis, started by scripts/clusterbench.sh on
// loopback. It prints markdown tables.
//
// Join latency: one AudioBridge room is created through a node and
// found on its host (the node holding its lease in Redis); then, -joins
// times each, a pion peer opens a Janus session on the host (direct) or
// on another node (relayed: that node forwards the handle's requests to
// the host over the cluster's bus), sends a join with its SDP offer and
// times the answer carrying the SDP answer and the peer's connection
// (ICE and DTLS) to the host's media port. Median and p95 of each.
//
// Bus messages per join: a pattern subscription of the runner's own
// counts every message the nodes publish on the cluster's channels
// (requests, replies, room events) from the join request until the
// peer is connected and the host's follow-up events have gone out, and
// again for the leave (session closed).
//
// Placement: -rooms AudioBridge rooms are created through the first
// node and filled with -per participants each (-talkers of them loud,
// the others a quiet tone), each participant's session opened on the
// nodes in turn as a load balancer would. It reports where the rooms
// landed, the participants and relayed handles per node, what each
// node reports as its load, each node's CPU (from /proc, over -window)
// and the lowest audio packet rate any participant received.
//
//	scripts/clusterbench.sh [JOINS] [ROOMS] [PER] [WINDOW]
//
// which runs
//
//	clusterbench -nodes a=ADDR,b=ADDR,c=ADDR -pids PID,PID,PID -redis ADDR -joins 50 -rooms 6 -per 10 -window 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tessera-mcu/tessera/room/cluster"
)

// node is one node of the cluster under test.
type node struct {
	id   cluster.NodeID
	addr string // its HTTP address (Janus API on /janus)
	pid  int
}

const plugin = "janus.plugin.audiobridge"

func main() {
	nodesFlag := flag.String("nodes", "", "the nodes: id=host:port,... (HTTP addresses)")
	pidsFlag := flag.String("pids", "", "the nodes' process IDs, in -nodes order (CPU from /proc)")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "the cluster's Redis")
	prefix := flag.String("prefix", "tessera:", "the cluster's key prefix")
	joins := flag.Int("joins", 30, "joins of each kind (direct, relayed) for the latency table; 0: skip")
	rooms := flag.Int("rooms", 6, "rooms of the placement step; 0: skip")
	per := flag.Int("per", 10, "participants per room in the placement step")
	talkers := flag.Int("talkers", 2, "loud participants per room in the placement step")
	window := flag.Duration("window", 10*time.Second, "CPU measurement window of the placement step")
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	nodes, err := parseNodes(*nodesFlag, *pidsFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench:", err)
		os.Exit(2)
	}
	b, err := newBench(nodes, *redisAddr, *prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench:", err)
		os.Exit(1)
	}
	if *joins > 0 {
		err = b.latency(*joins)
	}
	if err == nil && *rooms > 0 {
		err = b.placement(*rooms, *per, *talkers, *window)
	}
	b.close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench:", err)
		os.Exit(1)
	}
}

func parseNodes(list, pids string) ([]node, error) {
	ns := strings.Split(list, ",")
	ps := strings.Split(pids, ",")
	if list == "" || len(ns) < 2 || len(ps) != len(ns) {
		return nil, fmt.Errorf("-nodes needs two or more id=addr, -pids one PID each")
	}
	out := make([]node, len(ns))
	for i, n := range ns {
		id, addr, ok := strings.Cut(n, "=")
		pid, err := strconv.Atoi(ps[i])
		if !ok || err != nil || cluster.NodeID(id).Valid() != nil {
			return nil, fmt.Errorf("bad node %q (pid %q)", n, ps[i])
		}
		out[i] = node{id: cluster.NodeID(id), addr: addr, pid: pid}
	}
	return out, nil
}

type bench struct {
	nodes []node
	store *cluster.Store
	rdb   *redis.Client
	obs   *observer
	open  []*janus
}

func newBench(nodes []node, addr, prefix string) (*bench, error) {
	store, err := cluster.Open(cluster.Config{Addr: addr, Prefix: prefix})
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	obs, err := observe(context.Background(), rdb, prefix)
	if err != nil {
		_ = store.Close()
		_ = rdb.Close()
		return nil, fmt.Errorf("observing the bus: %w", err)
	}
	return &bench{nodes: nodes, store: store, rdb: rdb, obs: obs}, nil
}

func (b *bench) close() {
	for _, j := range b.open {
		j.close()
	}
	b.obs.close()
	_ = b.rdb.Close()
	_ = b.store.Close()
}

// node returns the node with id.
func (b *bench) node(id cluster.NodeID) (node, bool) {
	for _, n := range b.nodes {
		if n.id == id {
			return n, true
		}
	}
	return node{}, false
}

// createRoom creates an AudioBridge room through n and returns its host.
func (b *bench) createRoom(n node, id uint64) (cluster.NodeID, error) {
	j, err := dial(n.addr, plugin)
	if err != nil {
		return "", err
	}
	defer j.close()
	if _, err := j.message(map[string]any{"request": "create", "room": id, "description": fmt.Sprintf("bench %d", id)}); err != nil {
		return "", err
	}
	host, ok, err := b.store.Host(context.Background(), cluster.RoomID(id))
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("room %d has no host after its create", id)
	}
	return host, nil
}

// pct is the p-quantile of sorted ds (nearest rank).
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(p*float64(len(ds))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

// roomBase keeps the benchmark's rooms apart from a run before it.
func roomBase() uint64 { return uint64(time.Now().Unix()%100000) * 1000 }

func sortedKeys[V any](m map[cluster.NodeID]V) []cluster.NodeID {
	ks := make([]cluster.NodeID, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
