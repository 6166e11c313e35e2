package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-mcu/tessera/internal/loglimit"
)

// Node is one Tessera node taking part in the cluster: it heartbeats its
// info, renews the leases of the rooms it hosts, and serves and sends
// node-to-node requests. One goroutine (started by Join, waited for by
// Close) heartbeats and renews; it keeps retrying through a Redis outage
// and recovers when Redis returns. The bus adds a receiver goroutine and
// a few request workers, also waited for by Close.
type Node struct {
	s      *Store
	id     NodeID
	onLost func(RoomID)
	log    *slog.Logger
	token  string // tells this run's request IDs from a previous run's

	mu   sync.Mutex
	info NodeInfo

	// leaseMu orders claims and releases with renewals, so a renewal in
	// flight cannot take back a lease just released.
	leaseMu sync.Mutex
	roomsMu sync.Mutex
	rooms   map[RoomID]struct{} // leases held, as of the last claim or renewal

	bus bus

	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
	closed   atomic.Bool

	beatFails, renewFails atomic.Uint64
	beatLog, renewLog     loglimit.Limiter
	beatDown              atomic.Bool
}

// JoinOption sets an optional part of a Node.
type JoinOption func(*Node)

// OnLost sets the function told about every room whose lease a renewal
// found held by another node: the node no longer hosts that room and
// must stop hosting it. It runs on the node's heartbeat goroutine and
// must return quickly.
func OnLost(f func(RoomID)) JoinOption { return func(n *Node) { n.onLost = f } }

// Join makes this process the node described by info: it writes the
// first heartbeat (an unreachable Redis fails Join with ErrUnavailable),
// subscribes to the node's request and reply channels, and starts the
// heartbeat and renewal goroutine. A zero info.Started is set to now.
func (s *Store) Join(ctx context.Context, info NodeInfo, opts ...JoinOption) (*Node, error) {
	if err := info.ID.Valid(); err != nil {
		return nil, err
	}
	if info.Started.IsZero() {
		info.Started = time.Now().UTC()
	}
	var tok [6]byte
	_, _ = rand.Read(tok[:])
	n := &Node{
		s: s, id: info.ID, info: info, token: hex.EncodeToString(tok[:]),
		log:   s.log.With("node", string(info.ID)),
		rooms: make(map[RoomID]struct{}),
	}
	for _, o := range opts {
		o(n)
	}
	if err := s.heartbeat(ctx, info, false); err != nil {
		return nil, err
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.bus.init(n)
	if err := n.bus.subscribe(ctx, s.k.requests(n.id), s.k.replies(n.id)); err != nil {
		n.halt()
		_ = s.leave(context.Background(), n.id)
		return nil, err
	}
	n.wg.Add(1)
	go n.run()
	return n, nil
}

// ID is the node's ID.
func (n *Node) ID() NodeID { return n.id }

// Info returns the node's info as it heartbeats it.
func (n *Node) Info() NodeInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.info
}

// SetLoad sets the node's reported load and writes it at once, so the
// next placement anywhere sees it. When Redis is away the load still
// goes out with the next heartbeat; the error says it did not go now.
func (n *Node) SetLoad(ctx context.Context, l Load) error {
	n.mu.Lock()
	n.info.Load = l
	info := n.info
	n.mu.Unlock()
	return n.s.heartbeat(ctx, info, true)
}

// SetAddrs sets where the node is reached — its HTTP API, its media port
// and its SIP user agent ("" for one it does not run) — and writes it at
// once: a node may join before its listeners are bound.
func (n *Node) SetAddrs(ctx context.Context, api, media, sip string) error {
	n.mu.Lock()
	n.info.APIAddr, n.info.MediaAddr, n.info.SIPAddr = api, media, sip
	info := n.info
	n.mu.Unlock()
	return n.s.heartbeat(ctx, info, false)
}

// SetDraining marks the node as draining (it takes no new rooms: Place
// skips it and Claim answers ErrDraining) or as taking rooms again, and
// writes it at once.
func (n *Node) SetDraining(ctx context.Context, draining bool) error {
	n.mu.Lock()
	n.info.Draining = draining
	info := n.info
	n.mu.Unlock()
	return n.s.heartbeat(ctx, info, false)
}

// Claim makes this node the host of room, or keeps it so when a
// placement claimed it for this node; from then on the node renews the
// lease. It returns the room's host: this node, or the other node that
// holds the lease. A draining node gets ErrDraining for a room it does
// not hold already.
func (n *Node) Claim(ctx context.Context, room RoomID) (NodeID, error) {
	n.leaseMu.Lock()
	defer n.leaseMu.Unlock()
	if n.closed.Load() {
		return "", ErrClosed
	}
	if n.Info().Draining && !n.Hosts(room) {
		return "", fmt.Errorf("%w: room %d", ErrDraining, room)
	}
	host, err := n.s.Claim(ctx, room, n.id)
	if err != nil {
		return "", err
	}
	if host == n.id {
		n.roomsMu.Lock()
		n.rooms[room] = struct{}{}
		n.roomsMu.Unlock()
	}
	return host, nil
}

// Release ends this node's lease on room (the room ended here). The node
// stops renewing it even when Redis cannot be told (then the lease
// lapses by itself). ErrNotOwner: another node holds it.
func (n *Node) Release(ctx context.Context, room RoomID) error {
	n.leaseMu.Lock()
	defer n.leaseMu.Unlock()
	n.roomsMu.Lock()
	delete(n.rooms, room)
	n.roomsMu.Unlock()
	return n.s.release(ctx, room, n.id)
}

// Hosts reports whether the node holds room's lease (as of its last claim
// or renewal).
func (n *Node) Hosts(room RoomID) bool {
	n.roomsMu.Lock()
	defer n.roomsMu.Unlock()
	_, ok := n.rooms[room]
	return ok
}

// Rooms lists the rooms whose leases the node holds, ascending.
func (n *Node) Rooms() []RoomID {
	n.roomsMu.Lock()
	out := make([]RoomID, 0, len(n.rooms))
	for r := range n.rooms {
		out = append(out, r)
	}
	n.roomsMu.Unlock()
	slices.Sort(out)
	return out
}

// Stats are a node's counters since Join.
type Stats struct {
	HeartbeatFailures uint64 // heartbeats Redis did not take
	RenewalFailures   uint64 // renewal rounds Redis did not take
	RequestsDropped   uint64 // incoming requests dropped: queue full
	RepliesLate       uint64 // replies that came after their request gave up
	EventsDropped     uint64 // room events dropped: a subscriber's queue full
	RequestsSent      uint64 // requests to other nodes that Redis took
	RequestsServed    uint64 // requests from other nodes answered (handler run, reply sent)
	EventsReceived    uint64 // room event messages received, once per message
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	return Stats{
		HeartbeatFailures: n.beatFails.Load(),
		RenewalFailures:   n.renewFails.Load(),
		RequestsDropped:   n.bus.requestsDropped.Load(),
		RepliesLate:       n.bus.repliesLate.Load(),
		EventsDropped:     n.bus.eventsDropped.Load(),
		RequestsSent:      n.bus.requestsSent.Load(),
		RequestsServed:    n.bus.requestsServed.Load(),
		EventsReceived:    n.bus.eventsReceived.Load(),
	}
}

// Close leaves the cluster: it stops the node's goroutines and waits for
// them, ends its room subscriptions, releases its leases and removes its
// heartbeat, so its rooms can be placed again at once. When Redis is
// away the leases and the heartbeat lapse by themselves.
func (n *Node) Close() error {
	if n.closed.Swap(true) {
		return nil
	}
	n.leaseMu.Lock() // a claim in flight finishes first
	n.leaseMu.Unlock()
	n.halt()
	ctx := context.Background()
	var first error
	for _, r := range n.Rooms() {
		if err := n.s.release(ctx, r, n.id); err != nil && first == nil {
			first = err
		}
	}
	n.roomsMu.Lock()
	clear(n.rooms)
	n.roomsMu.Unlock()
	if err := n.s.leave(ctx, n.id); err != nil && first == nil {
		first = err
	}
	return first
}

// halt stops the node's goroutines and waits for them without telling
// Redis anything: what a crashed node leaves behind.
func (n *Node) halt() {
	n.stopOnce.Do(func() {
		n.cancel()
		n.bus.close()
		n.wg.Wait()
		n.bus.endSubscriptions()
	})
}

// run heartbeats and renews until the node closes.
func (n *Node) run() {
	defer n.wg.Done()
	beat := time.NewTicker(n.s.cfg.HeartbeatEvery)
	defer beat.Stop()
	renew := time.NewTicker(n.s.cfg.RenewEvery)
	defer renew.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-beat.C:
			n.beat()
		case <-renew.C:
			n.renewAll()
		}
	}
}

func (n *Node) beat() {
	err := n.s.heartbeat(n.ctx, n.Info(), false)
	if n.ctx.Err() != nil {
		return
	}
	if err != nil {
		n.beatFails.Add(1)
		n.beatDown.Store(true)
		n.beatLog.Warn(n.log, "cluster: heartbeat failed; retrying", "err", err)
		return
	}
	if n.beatDown.Swap(false) {
		n.log.Info("cluster: heartbeat written again")
	}
}

func (n *Node) renewAll() {
	n.leaseMu.Lock()
	rooms := n.Rooms()
	lost, err := n.s.renew(n.ctx, n.id, rooms)
	if err == nil {
		n.roomsMu.Lock()
		for _, r := range lost {
			delete(n.rooms, r)
		}
		n.roomsMu.Unlock()
	}
	n.leaseMu.Unlock()
	if n.ctx.Err() != nil {
		return
	}
	if err != nil {
		n.renewFails.Add(1)
		n.renewLog.Warn(n.log, "cluster: lease renewal failed; retrying", "rooms", len(rooms), "err", err)
		return
	}
	for _, r := range lost {
		n.log.Warn("cluster: room lease taken by another node", "room", uint64(r))
		if n.onLost != nil {
			n.onLost(r)
		}
	}
}
