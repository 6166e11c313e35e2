package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tessera-mcu/tessera/internal/loglimit"
)

// The node-to-node bus, over Redis pub/sub. Every node listens on its
// request channel and its reply channel; a request carries a correlation
// ID and the sender's ID, and the reply goes to the sender's reply
// channel with the same ID. A room's events go to the room's event
// channel, which any node may subscribe to. Pub/sub delivers to whoever
// listens at that moment: a message sent while a node is away (or while
// Redis is) is lost, so requests have deadlines and events are a live
// stream, not a log.

// Handler serves one method of a node's incoming requests.
type Handler interface {
	ServeRequest(ctx context.Context, from NodeID, body []byte) ([]byte, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, from NodeID, body []byte) ([]byte, error)

// ServeRequest calls f.
func (f HandlerFunc) ServeRequest(ctx context.Context, from NodeID, body []byte) ([]byte, error) {
	return f(ctx, from, body)
}

const (
	requestQueue  = 256 // incoming requests waiting for a worker; more are dropped
	requestWorker = 4   // goroutines running handlers
	eventQueue    = 64  // room events waiting for one subscriber; more are dropped
	receiveWait   = 2 * time.Second
)

// envelope is a request or a reply on the wire.
type envelope struct {
	ID     string `json:"id"`
	From   NodeID `json:"from"`
	Method string `json:"method,omitempty"`
	Body   []byte `json:"body,omitempty"`
	Err    string `json:"err,omitempty"`
}

// bus is a Node's side of pub/sub: one subscription connection shared by
// its request and reply channels and by its room subscriptions.
type bus struct {
	n    *Node
	ps   *redis.PubSub
	reqQ chan envelope
	seq  atomic.Uint64

	mu       sync.Mutex
	pending  map[string]chan envelope
	handlers map[string]Handler
	subs     map[string]map[*Subscription]struct{}
	confirm  map[string][]chan struct{} // channel -> waiters for its SUBSCRIBE

	requestsDropped, repliesLate, eventsDropped atomic.Uint64
	// What went over the bus: requests this node sent (Redis took them),
	// requests it served (a reply published or attempted), room events
	// it received on its subscriptions (once per message, however many
	// subscribers share it).
	requestsSent, requestsServed, eventsReceived atomic.Uint64
	recvLog, dropLog                             loglimit.Limiter
}

func (b *bus) init(n *Node) {
	b.n = n
	b.ps = n.s.rdb.Subscribe(n.ctx)
	b.reqQ = make(chan envelope, requestQueue)
	b.pending = make(map[string]chan envelope)
	b.handlers = make(map[string]Handler)
	b.subs = make(map[string]map[*Subscription]struct{})
	b.confirm = make(map[string][]chan struct{})
	n.wg.Add(1 + requestWorker)
	go b.receive()
	for range requestWorker {
		go b.work()
	}
}

// close ends the subscription connection, which ends the receiver.
func (b *bus) close() { _ = b.ps.Close() }

// subscribe subscribes to channels and waits until Redis confirms them.
func (b *bus) subscribe(ctx context.Context, channels ...string) error {
	waits := make([]chan struct{}, len(channels))
	b.mu.Lock()
	for i, ch := range channels {
		waits[i] = make(chan struct{})
		b.confirm[ch] = append(b.confirm[ch], waits[i])
	}
	b.mu.Unlock()
	ctx, cancel := b.n.s.op(ctx)
	defer cancel()
	err := b.ps.Subscribe(ctx, channels...)
	for _, w := range waits {
		if err != nil {
			break
		}
		select {
		case <-w:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		b.mu.Lock()
		for i, ch := range channels {
			b.dropWaiter(ch, waits[i])
		}
		b.mu.Unlock()
		return wrap(ctx, "subscribe", err)
	}
	return nil
}

func (b *bus) dropWaiter(ch string, w chan struct{}) {
	ws := b.confirm[ch]
	for i := range ws {
		if ws[i] == w {
			b.confirm[ch] = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(b.confirm[ch]) == 0 {
		delete(b.confirm, ch)
	}
}

// receive reads the subscription connection until the node closes. On
// errors it backs off and reads again; the Redis client reconnects and
// subscribes again by itself.
func (b *bus) receive() {
	defer b.n.wg.Done()
	ctx := b.n.ctx
	backoff := 50 * time.Millisecond
	for {
		msg, err := b.ps.ReceiveTimeout(ctx, receiveWait)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				_ = b.ps.Ping(ctx) // idle: is the connection still there?
				continue
			}
			b.recvLog.Warn(b.n.log, "cluster: bus receive failed; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				b.confirmed(m.Channel)
			}
		case *redis.Message:
			b.dispatch(m)
		}
	}
}

func (b *bus) confirmed(ch string) {
	b.mu.Lock()
	ws := b.confirm[ch]
	delete(b.confirm, ch)
	b.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

// dispatch hands one message on without waiting: to the request queue,
// to the request waiting for the reply, or to the room's subscribers.
func (b *bus) dispatch(m *redis.Message) {
	k := b.n.s.k
	switch m.Channel {
	case k.requests(b.n.id):
		var e envelope
		if json.Unmarshal([]byte(m.Payload), &e) != nil || e.ID == "" {
			return
		}
		select {
		case b.reqQ <- e:
		default:
			b.requestsDropped.Add(1)
			b.dropLog.Warn(b.n.log, "cluster: request queue full; requests dropped", "dropped", b.requestsDropped.Load())
		}
	case k.replies(b.n.id):
		var e envelope
		if json.Unmarshal([]byte(m.Payload), &e) != nil {
			return
		}
		b.mu.Lock()
		ch := b.pending[e.ID]
		b.mu.Unlock()
		if ch == nil {
			b.repliesLate.Add(1)
			return
		}
		select {
		case ch <- e:
		default:
			b.repliesLate.Add(1) // a duplicate
		}
	default:
		b.eventsReceived.Add(1)
		b.mu.Lock()
		for s := range b.subs[m.Channel] {
			select {
			case s.c <- []byte(m.Payload):
			default:
				s.dropped.Add(1)
				b.eventsDropped.Add(1)
			}
		}
		b.mu.Unlock()
	}
}

// work runs handlers for queued requests and publishes their replies.
func (b *bus) work() {
	defer b.n.wg.Done()
	for {
		select {
		case <-b.n.ctx.Done():
			return
		case e := <-b.reqQ:
			b.serve(e)
		}
	}
}

func (b *bus) serve(e envelope) {
	b.mu.Lock()
	h := b.handlers[e.Method]
	b.mu.Unlock()
	reply := envelope{ID: e.ID, From: b.n.id}
	if h == nil {
		reply.Err = "no handler for method " + strconv.Quote(e.Method)
	} else {
		body, err := b.call(h, e)
		reply.Body = body
		if err != nil {
			reply.Err = err.Error()
		}
	}
	b.requestsServed.Add(1)
	if err := b.n.s.publish(b.n.ctx, b.n.s.k.replies(e.From), reply); err != nil && b.n.ctx.Err() == nil {
		b.recvLog.Warn(b.n.log, "cluster: reply not sent", "to", string(e.From), "err", err)
	}
}

// call runs one handler; a panic ends that request only.
func (b *bus) call(h Handler, e envelope) (body []byte, err error) {
	ctx, cancel := context.WithTimeout(b.n.ctx, b.n.s.cfg.RequestTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			body, err = nil, fmt.Errorf("handler for %q panicked: %v", e.Method, p)
		}
	}()
	return h.ServeRequest(ctx, e.From, e.Body)
}

// Serve registers h for the node's incoming requests of method, replacing
// any handler before it. Handlers run on a few worker goroutines; a
// request that finds the queue full is dropped (the sender times out).
func (n *Node) Serve(method string, h Handler) {
	n.bus.mu.Lock()
	n.bus.handlers[method] = h
	n.bus.mu.Unlock()
}

// Request sends method and body to node to and returns its handler's
// reply. It fails with ErrNoNode when no node listens under that ID,
// ErrNoReply when no reply comes before ctx's deadline (or RequestTimeout
// when ctx has none), ErrRemote when the handler returned an error or
// there is none for the method, ErrUnavailable when Redis is away.
func (n *Node) Request(ctx context.Context, to NodeID, method string, body []byte) ([]byte, error) {
	if n.closed.Load() {
		return nil, ErrClosed
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.s.cfg.RequestTimeout)
		defer cancel()
	}
	id := n.token + "-" + strconv.FormatUint(n.bus.seq.Add(1), 36)
	ch := make(chan envelope, 1)
	n.bus.mu.Lock()
	n.bus.pending[id] = ch
	n.bus.mu.Unlock()
	defer func() {
		n.bus.mu.Lock()
		delete(n.bus.pending, id)
		n.bus.mu.Unlock()
	}()
	heard, err := n.s.publishCount(ctx, n.s.k.requests(to), envelope{ID: id, From: n.id, Method: method, Body: body})
	if err != nil {
		return nil, err
	}
	n.bus.requestsSent.Add(1)
	if heard == 0 {
		return nil, fmt.Errorf("%w: %s (request %q)", ErrNoNode, to, method)
	}
	select {
	case e := <-ch:
		if e.Err != "" {
			return nil, fmt.Errorf("%w: %s: %s", ErrRemote, to, e.Err)
		}
		return e.Body, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s (request %q)", ErrNoReply, to, method)
	case <-n.ctx.Done():
		return nil, ErrClosed
	}
}

// Subscription is one subscriber's stream of a room's events.
type Subscription struct {
	b       *bus
	channel string
	c       chan []byte
	dropped atomic.Uint64
	once    sync.Once
}

// Events delivers the room's events in order; it is closed when the
// subscription or its node closes. Events that find it full are dropped
// and counted.
func (s *Subscription) Events() <-chan []byte { return s.c }

// Dropped counts the events dropped because Events was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes Events.
func (s *Subscription) Close() {
	s.once.Do(func() {
		b := s.b
		b.mu.Lock()
		set := b.subs[s.channel]
		_, present := set[s]
		delete(set, s)
		last := present && len(set) == 0
		if last {
			delete(b.subs, s.channel)
		}
		if present {
			close(s.c)
		}
		b.mu.Unlock()
		if last && b.n.ctx.Err() == nil {
			ctx, cancel := b.n.s.op(b.n.ctx)
			_ = b.ps.Unsubscribe(ctx, s.channel) // forgotten by the client even when Redis is away
			cancel()
		}
	})
}

// Subscribe starts a stream of room's events on this node (one Redis
// subscription per room, shared by its subscribers on the node).
func (n *Node) Subscribe(ctx context.Context, room RoomID) (*Subscription, error) {
	if n.closed.Load() {
		return nil, ErrClosed
	}
	b := &n.bus
	s := &Subscription{b: b, channel: n.s.k.events(room), c: make(chan []byte, eventQueue)}
	b.mu.Lock()
	set := b.subs[s.channel]
	first := set == nil
	if first {
		set = make(map[*Subscription]struct{})
		b.subs[s.channel] = set
	}
	set[s] = struct{}{}
	b.mu.Unlock()
	if first {
		if err := b.subscribe(ctx, s.channel); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// endSubscriptions closes the Events of every subscription when the node
// stops.
func (b *bus) endSubscriptions() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch, set := range b.subs {
		for s := range set {
			close(s.c)
		}
		delete(b.subs, ch)
	}
}

// Publish sends an event to room's subscribers on every node. Nobody
// listening is no error.
func (s *Store) Publish(ctx context.Context, room RoomID, event []byte) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	return wrap(ctx, "publish", s.rdb.Publish(ctx, s.k.events(room), event).Err())
}

func (s *Store) publish(ctx context.Context, channel string, e envelope) error {
	_, err := s.publishCount(ctx, channel, e)
	return err
}

// publishCount publishes e and returns how many subscribers heard it.
func (s *Store) publishCount(ctx context.Context, channel string, e envelope) (int64, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	n, err := s.rdb.Publish(ctx, channel, b).Result()
	return n, wrap(ctx, "publish", err)
}
