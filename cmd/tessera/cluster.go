package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/cluster"
	relay "github.com/tessera-mcu/tessera/signaling/cluster"
	"github.com/tessera-mcu/tessera/signaling/janus"
	"github.com/tessera-mcu/tessera/signaling/metrics"
	"github.com/tessera-mcu/tessera/signaling/sip"
)

// clusterConfig makes this server one node of a cluster sharing a Redis.
// Without ClusterRedis the server is a single node and nothing of this
// applies.
type clusterConfig struct {
	ClusterRedis         string `yaml:"cluster_redis"`
	ClusterRedisPassword string `yaml:"cluster_redis_password"`
	ClusterNode          string `yaml:"cluster_node"`
	ClusterPrefix        string `yaml:"cluster_prefix"`
	ClusterAPIAddr       string `yaml:"cluster_api_addr"`
}

func clusterDefaults() clusterConfig {
	return clusterConfig{ClusterPrefix: "tessera:"}
}

func bindCluster(fs *flag.FlagSet, c *clusterConfig) {
	fs.StringVar(&c.ClusterRedis, "cluster-redis", c.ClusterRedis, "host:port of the Redis the cluster's nodes share; empty: a single node")
	fs.StringVar(&c.ClusterRedisPassword, "cluster-redis-password", c.ClusterRedisPassword, "password of -cluster-redis (requirepass or the default user's); empty: none")
	fs.StringVar(&c.ClusterNode, "cluster-node", c.ClusterNode, "this node's ID, unique in the cluster (letters, digits, '.', '_', '-'); empty: the host name and the -listen port")
	fs.StringVar(&c.ClusterPrefix, "cluster-prefix", c.ClusterPrefix, "prefix of the cluster's Redis keys and channels (clusters sharing one Redis differ in it)")
	fs.StringVar(&c.ClusterAPIAddr, "cluster-api-addr", c.ClusterAPIAddr, "host:port other nodes and load balancers reach this node's HTTP API at; empty: -listen's port on -listen's host, else the first -public-ips, else -media-bind, else the default route's address")
}

func (c clusterConfig) validate() error {
	if c.ClusterRedis == "" {
		return nil
	}
	if host, port, err := net.SplitHostPort(c.ClusterRedis); err != nil || host == "" || port == "" {
		return fmt.Errorf("%w: cluster redis %q (want host:port)", errConfig, c.ClusterRedis)
	}
	if c.ClusterNode != "" {
		if err := cluster.NodeID(c.ClusterNode).Valid(); err != nil {
			return fmt.Errorf("%w: cluster node: %w", errConfig, err)
		}
	}
	if c.ClusterPrefix == "" {
		return fmt.Errorf("%w: empty cluster prefix", errConfig)
	}
	if c.ClusterAPIAddr != "" {
		host, port, err := net.SplitHostPort(c.ClusterAPIAddr)
		a, aerr := netip.ParseAddr(host)
		if err != nil || host == "" || port == "" || port == "0" || (aerr == nil && a.IsUnspecified()) {
			return fmt.Errorf("%w: cluster api addr %q (host:port other nodes can reach)", errConfig, c.ClusterAPIAddr)
		}
	}
	return nil
}

// nodeID is the configured node ID, else the host name and listen's
// port.
func (c clusterConfig) nodeID(listen string) (cluster.NodeID, error) {
	if c.ClusterNode != "" {
		return cluster.NodeID(c.ClusterNode), nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("%w: no -cluster-node and no host name: %v", errConfig, err)
	}
	_, port, _ := net.SplitHostPort(listen)
	id := cluster.NodeID(host + "-" + port)
	if err := id.Valid(); err != nil {
		return "", fmt.Errorf("%w: set -cluster-node: the host name does not make a node ID: %w", errConfig, err)
	}
	return id, nil
}

// clusterNode is this server's part in the cluster: the store, the node
// once it has joined, and its load reporter. A nil *clusterNode is a
// single node: every method does nothing.
type clusterNode struct {
	store *cluster.Store
	id    cluster.NodeID
	// relay is the node's part in the cluster's Janus API; it joined the
	// node to the cluster.
	relay *relay.Cluster
	node  *cluster.Node
	load  *cluster.Reporter
	log   *slog.Logger
}

// openCluster opens the cluster's store and checks that Redis answers
// (nil, nil without -cluster-redis). An unreachable Redis is an error:
// the operator asked for a cluster.
func (c clusterConfig) openCluster(ctx context.Context, listen string, log *slog.Logger) (*clusterNode, error) {
	if c.ClusterRedis == "" {
		return nil, nil
	}
	id, err := c.nodeID(listen)
	if err != nil {
		return nil, err
	}
	store, err := cluster.Open(cluster.Config{Addr: c.ClusterRedis, Password: c.ClusterRedisPassword,
		Prefix: c.ClusterPrefix, Logger: log})
	if err != nil {
		return nil, err
	}
	if err := store.Ping(ctx); err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("redis at %s cannot be reached (-cluster-redis \"\" runs a single node): %w", c.ClusterRedis, err)
	}
	return &clusterNode{store: store, id: id, log: log}, nil
}

// Node is the joined node (nil before join, and on a single node).
func (cn *clusterNode) Node() *cluster.Node {
	if cn == nil {
		return nil
	}
	return cn.node
}

// Store is the cluster's store (nil on a single node).
func (cn *clusterNode) Store() *cluster.Store {
	if cn == nil {
		return nil
	}
	return cn.store
}

// start joins this server to the cluster as a node serving the
// cluster's Janus API (rooms hosted in the cluster, handles relayed to
// their rooms' hosts), before the room plugins are made. Its addresses
// follow once its listeners are bound (announce).
func (cn *clusterNode) start(ctx context.Context, rooms *room.Manager) error {
	if cn == nil {
		return nil
	}
	cl, err := relay.Join(ctx, relay.Options{Store: cn.store, Rooms: rooms, Node: cluster.NodeInfo{ID: cn.id}, Logger: cn.log})
	if err != nil {
		return fmt.Errorf("join as node %s: %w", cn.id, err)
	}
	cn.relay, cn.node = cl, cl.Node()
	return nil
}

// rooms is what the room plugins reach rooms through: the cluster's
// rooms, or the local manager on a single node.
func (cn *clusterNode) rooms(local *room.Manager) janus.Rooms {
	if cn == nil {
		return local
	}
	return cn.relay.Rooms()
}

// wrap makes a room plugin relay the handles whose rooms other nodes
// host (unchanged on a single node).
func (cn *clusterNode) wrap(p janus.Plugin) janus.Plugin {
	if cn == nil {
		return p
	}
	return cn.relay.Wrap(p)
}

// stopRelay ends the relayed and hosted handles and leaves the cluster
// (the node's rooms released); the gateway has closed by then.
func (cn *clusterNode) stopRelay() {
	if cn == nil {
		return
	}
	if err := cn.relay.Close(); err != nil {
		cn.log.Warn("cluster: leaving", "err", err)
	}
}

// announce writes where the node is reached and starts reporting its load
// from rooms.
func (cn *clusterNode) announce(ctx context.Context, info cluster.NodeInfo, rooms cluster.LocalRooms) error {
	if cn == nil {
		return nil
	}
	if err := cn.node.SetAddrs(ctx, info.APIAddr, info.MediaAddr, info.SIPAddr); err != nil {
		return fmt.Errorf("node %s addresses: %w", cn.id, err)
	}
	cn.load = cn.node.ReportLoad(rooms, cluster.DefaultReportEvery)
	cn.log.Info("cluster node joined", "node", string(cn.id), "api", info.APIAddr, "media", info.MediaAddr, "sip", info.SIPAddr)
	return nil
}

// drain tells the cluster that this node takes no new rooms. Redis being
// away is no reason to stop draining: the error is logged.
func (cn *clusterNode) drain(ctx context.Context) {
	if cn == nil || cn.node == nil {
		return
	}
	if err := cn.node.SetDraining(ctx, true); err != nil {
		cn.log.Warn("cluster: draining not stored; placement sees it with the next heartbeat", "err", err)
	}
}

// summaries lists the rooms open on this node (a *room.Manager).
type summaries interface{ Summaries() []room.Summary }

// waitEmpty waits, in a cluster, until nobody is left in the rooms this
// node hosts — the clients leave, or move to rooms on other nodes, while
// no new room lands here — or until ctx ends. A single node does not
// wait: its sessions end at once.
func (cn *clusterNode) waitEmpty(ctx context.Context, rooms summaries) {
	if cn == nil {
		return
	}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		n := 0
		for _, s := range rooms.Summaries() {
			n += s.Participants
		}
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			cn.log.Info("draining: rooms not empty, closing them", "participants", n)
			return
		case <-t.C:
		}
	}
}

// close stops the load reporter, leaves the cluster if the relay has
// not (a start that failed half-way) and closes the store.
func (cn *clusterNode) close() {
	if cn == nil {
		return
	}
	if cn.load != nil {
		cn.load.Close()
	}
	if cn.relay != nil {
		cn.stopRelay() // a second Close does nothing
	}
	_ = cn.store.Close()
}

// sipLocator is the SIP user agent's locator (nil on a single node: rooms
// not open here are 404).
func (cn *clusterNode) sipLocator() sip.Locator {
	if cn == nil {
		return nil
	}
	return sipLocator{store: cn.store, self: cn.id, open: func(id room.RoomID) error {
		_, err := cn.relay.Rooms().Get(id)
		return err
	}}
}

// sipLocator tells the SIP user agent which node hosts a room, through
// the cluster's store, and opens a room placed here from its stored
// configuration.
type sipLocator struct {
	store *cluster.Store
	self  cluster.NodeID
	open  func(room.RoomID) error
}

func (l sipLocator) Locate(ctx context.Context, id room.RoomID) (string, bool, error) {
	n, err := l.store.Locate(ctx, cluster.RoomID(id))
	if errors.Is(err, cluster.ErrNoRoom) {
		return "", false, fmt.Errorf("%w: %w", room.ErrRoomNotFound, err)
	}
	if err != nil {
		return "", false, err
	}
	if n.ID == l.self && l.open != nil {
		if err := l.open(id); err != nil {
			return "", false, err
		}
	}
	return n.SIPAddr, n.ID != l.self, nil
}

// nodeAddr is the address others reach a listener bound at bound by:
// the configured host when it names one, else host.
func nodeAddr(configured, bound, host string) string {
	if h, _, err := net.SplitHostPort(configured); err == nil && h != "" {
		if a, err := netip.ParseAddr(h); err != nil || !a.IsUnspecified() {
			host = h
		}
	}
	_, port, err := net.SplitHostPort(bound)
	if err != nil {
		return ""
	}
	return net.JoinHostPort(host, port)
}

// clusterInfo is the node's info: where its HTTP API (bound at api), its
// media port and its SIP user agent (nil: SIP off) are reached.
func (c Config) clusterInfo(api string, mediaPort int, sipSrv *sip.Server) cluster.NodeInfo {
	host := reachableIP(c.publicIPs(), c.MediaBind)
	info := cluster.NodeInfo{
		APIAddr:   c.Cluster.ClusterAPIAddr,
		MediaAddr: net.JoinHostPort(host, strconv.Itoa(mediaPort)),
	}
	if info.APIAddr == "" {
		info.APIAddr = nodeAddr(c.Listen, api, host)
	}
	if sipSrv != nil {
		for _, a := range sipSrv.Addrs() {
			if _, ok := a.(*net.UDPAddr); ok {
				info.SIPAddr = nodeAddr(c.SIP.SIPListen, a.String(), c.SIP.mediaIP(c.publicIPs(), c.MediaBind))
			}
		}
	}
	return info
}

// metrics is the node's part in the cluster as the metrics read it (nil
// on a single node).
func (cn *clusterNode) metrics() metrics.Cluster {
	if cn == nil {
		return nil
	}
	return clusterMetrics{cn.relay}
}

// clusterMetrics adds the node's own counters to the relay's.
type clusterMetrics struct{ *relay.Cluster }

func (m clusterMetrics) NodeStats() cluster.Stats { return m.Node().Stats() }
func (m clusterMetrics) HostedRooms() int         { return len(m.Node().Rooms()) }
