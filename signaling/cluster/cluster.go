package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-mcu/tessera/internal/loglimit"
	"github.com/tessera-mcu/tessera/room"
	rc "github.com/tessera-mcu/tessera/room/cluster"
	"github.com/tessera-mcu/tessera/signaling/janus"
)

// Options configure a node's part in the cluster's Janus API.
type Options struct {
	// Store is the cluster's Redis store (required).
	Store *rc.Store
	// Node describes this node (required: ID; APIAddr and MediaAddr as
	// the operator configured them).
	Node rc.NodeInfo
	// Rooms is the node's room manager (required): the rooms it hosts.
	Rooms *room.Manager
	// RequestTimeout bounds one relayed request (default 5 s).
	RequestTimeout time.Duration
	// WatchEvery is how often the node checks that the hosts of its
	// relayed handles, and the origins of the handles it hosts, are live
	// (default 1 s). A node missing from two checks in a row is dead.
	WatchEvery time.Duration
	// EventQueue bounds the events of one hosted handle waiting to be
	// sent to its origin (default 256); more are dropped and counted.
	EventQueue int
	Logger     *slog.Logger
}

// Cluster is one node's part in the cluster's Janus API: it joins the
// node to the cluster, hosts rooms (Rooms), relays the handles of this
// node's clients whose rooms other nodes host (Wrap), and serves the
// handles other nodes relay to the rooms it hosts. It owns a watcher
// goroutine, one sender per hosted handle, one reader per room some
// relayed handle is bound to, and short-lived helpers; Close waits for
// all of them.
type Cluster struct {
	opts  Options
	store *rc.Store
	node  *rc.Node
	rooms *Rooms
	log   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// senders counts the hosted handles' sender goroutines.
	senders sync.WaitGroup
	closed  atomic.Bool

	mu      sync.Mutex
	plugins map[string]*wrapper
	relays  map[relayKey]*relaySession
	hosted  map[hostKey]*hosted
	// tokens numbers the bindings of this node's handles.
	tokens atomic.Uint64
	// missing counts the checks in a row each node was not live.
	missing map[rc.NodeID]int

	subsMu sync.Mutex // orders subscribing and unsubscribing rooms
	subs   map[rc.RoomID]*roomSub

	stats struct {
		eventsDropped, eventsLost, hostsLost, originsLost, publishFailures atomic.Uint64
	}
	logs struct{ drop, lost, publish, watch loglimit.Limiter }
}

// Join makes this process a node of the cluster (Store.Join, with an
// OnLost that ends the rooms whose leases other nodes took) and serves
// other nodes' relayed handles. Register the plugins it wraps before the
// gateway serves.
func Join(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Store == nil || opts.Rooms == nil {
		return nil, fmt.Errorf("cluster: Join needs a store and a room manager")
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 5 * time.Second
	}
	if opts.WatchEvery <= 0 {
		opts.WatchEvery = time.Second
	}
	if opts.EventQueue <= 0 {
		opts.EventQueue = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Cluster{
		opts: opts, store: opts.Store, log: opts.Logger.With("node", string(opts.Node.ID)),
		plugins: make(map[string]*wrapper), relays: make(map[relayKey]*relaySession),
		hosted: make(map[hostKey]*hosted), missing: make(map[rc.NodeID]int),
		subs: make(map[rc.RoomID]*roomSub),
	}
	c.rooms = &Rooms{mgr: opts.Rooms, store: opts.Store, c: c, private: make(map[room.RoomID]bool)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	node, err := opts.Store.Join(ctx, opts.Node, rc.OnLost(c.rooms.lost))
	if err != nil {
		c.cancel()
		return nil, err
	}
	c.node, c.rooms.node = node, node
	node.Serve(methodMessage, rc.HandlerFunc(c.serveMessage))
	node.Serve(methodTrickle, rc.HandlerFunc(c.serveTrickle))
	node.Serve(methodHangup, rc.HandlerFunc(c.serveHangup))
	node.Serve(methodDetach, rc.HandlerFunc(c.serveDetach))
	node.Serve(methodList, rc.HandlerFunc(c.serveList))
	c.wg.Add(1)
	go c.watch()
	return c, nil
}

// Node is this node in the cluster (load, draining, leases).
func (c *Cluster) Node() *rc.Node { return c.node }

// Rooms is what the room plugins reach rooms through in cluster mode.
func (c *Cluster) Rooms() *Rooms { return c.rooms }

// Stats are the counters of the node's relaying since Join.
type Stats struct {
	// EventsDropped: events of hosted handles dropped, their queue full.
	EventsDropped uint64
	// EventsLost: events this node's relayed handles did not get (a gap
	// in what their host sent).
	EventsLost uint64
	// HostsLost: relayed handles whose host was lost.
	HostsLost uint64
	// OriginsLost: hosted handles ended because their origin was lost.
	OriginsLost uint64
	// PublishFailures: batches of events Redis did not take.
	PublishFailures uint64
}

// Stats returns the node's relaying counters.
func (c *Cluster) Stats() Stats {
	return Stats{
		EventsDropped: c.stats.eventsDropped.Load(), EventsLost: c.stats.eventsLost.Load(),
		HostsLost: c.stats.hostsLost.Load(), OriginsLost: c.stats.originsLost.Load(),
		PublishFailures: c.stats.publishFailures.Load(),
	}
}

// Close ends the node's part: it stops the watcher, ends the handles it
// hosts for other nodes (their participants leave; what their plugins
// say last still goes to their origins), ends its room subscriptions and
// leaves the cluster (Node.Close: leases released, heartbeat removed).
// Close the gateway first (its handles detach through the relay), the
// room manager after.
func (c *Cluster) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	hs := make([]*hosted, 0, len(c.hosted))
	for _, h := range c.hosted {
		hs = append(hs, h)
	}
	c.mu.Unlock()
	for _, h := range hs {
		c.endHosted(h, false)
	}
	c.senders.Wait()
	c.wg.Wait()
	c.subsMu.Lock()
	for id, s := range c.subs {
		s.sub.Close()
		delete(c.subs, id)
	}
	c.subsMu.Unlock()
	c.wg.Wait() // the readers
	return c.node.Close()
}

// goTracked runs fn on a goroutine Close waits for.
func (c *Cluster) goTracked(fn func()) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn()
	}()
}

// request sends a relayed request and decodes its reply into out.
func (c *Cluster) request(ctx context.Context, to rc.NodeID, method string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	rep, err := c.node.Request(ctx, to, method, b)
	if err != nil {
		return err
	}
	return json.Unmarshal(rep, out)
}

// unreachable reports whether a relayed request's error means the host
// is gone or did not answer (as opposed to an error it answered).
func unreachable(err error) bool {
	return errors.Is(err, rc.ErrNoNode) || errors.Is(err, rc.ErrNoReply) || errors.Is(err, rc.ErrUnavailable) ||
		errors.Is(err, rc.ErrClosed) || errors.Is(err, context.DeadlineExceeded)
}

// watch checks, every WatchEvery, that the hosts of the node's bound
// handles and the origins of the handles it hosts are live; a node
// missing from two checks in a row (not one: a Redis that just came back
// has lost heartbeats for a moment) is dead, and its handles end.
func (c *Cluster) watch() {
	defer c.wg.Done()
	t := time.NewTicker(c.opts.WatchEvery)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			c.check()
		}
	}
}

func (c *Cluster) check() {
	c.mu.Lock()
	var relays []*relaySession
	var hosts []*hosted
	for _, s := range c.relays {
		relays = append(relays, s)
	}
	for _, h := range c.hosted {
		hosts = append(hosts, h)
	}
	c.mu.Unlock()
	if len(relays) == 0 && len(hosts) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestTimeout)
	nodes, err := c.store.Nodes(ctx)
	cancel()
	if err != nil {
		c.logs.watch.Warn(c.log, "cluster: cannot list live nodes; relayed handles unchecked", "err", err)
		return
	}
	live := make(map[rc.NodeID]bool, len(nodes))
	for _, n := range nodes {
		live[n.ID] = true
	}
	dead := func(id rc.NodeID) bool { return !live[id] && c.missing[id] >= 2 }
	c.mu.Lock()
	seen := make(map[rc.NodeID]bool)
	for _, s := range relays {
		if h := s.host(); h != "" && !seen[h] {
			seen[h] = true
			c.countMissing(h, live[h])
		}
	}
	for _, h := range hosts {
		if !seen[h.key.origin] {
			seen[h.key.origin] = true
			c.countMissing(h.key.origin, live[h.key.origin])
		}
	}
	for id := range c.missing {
		if !seen[id] {
			delete(c.missing, id)
		}
	}
	c.mu.Unlock()
	for _, s := range relays {
		if h := s.host(); h != "" && dead(h) {
			s.hostLost(nil, fmt.Errorf("%w: %s (heartbeat lapsed)", ErrHostLost, h))
		}
	}
	for _, h := range hosts {
		if dead(h.key.origin) {
			c.stats.originsLost.Add(1)
			c.log.Warn("cluster: origin of a relayed handle is gone; its participant leaves", "origin", string(h.key.origin),
				"room", uint64(h.room))
			c.goTracked(func() { c.endHosted(h, false) })
		}
	}
}

// countMissing counts a node's checks in a row not live (c.mu held).
func (c *Cluster) countMissing(id rc.NodeID, live bool) {
	if live {
		c.missing[id] = 0
	} else {
		c.missing[id]++
	}
}

// Wrap returns plugin in cluster mode: same package and info, each
// handle's requests routed to the node hosting its room (see the package
// doc). The plugin must reach its rooms through Rooms. Wrap also makes
// the node serve other nodes' handles relayed to the plugin.
func (c *Cluster) Wrap(plugin janus.Plugin) janus.Plugin {
	w := &wrapper{c: c, inner: plugin, key: pluginKey(plugin.Package())}
	c.mu.Lock()
	c.plugins[plugin.Package()] = w
	c.mu.Unlock()
	return w
}

func (c *Cluster) plugin(pkg string) (*wrapper, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.plugins[pkg]
	if w == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoPlugin, pkg)
	}
	return w, nil
}
