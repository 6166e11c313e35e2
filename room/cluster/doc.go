// Package cluster makes several Tessera nodes one service, on Redis: a
// node registry with heartbeats and load, a room directory with leases,
// placement of rooms by load, a store of room configurations that
// outlives any node, and a node-to-node bus over pub/sub. A single node
// runs without it; nothing in the media path depends on it.
//
// It talks to Redis with github.com/redis/go-redis/v9 and needs one
// Redis server; its Lua scripts touch several keys, so Redis Cluster is
// not supported.
//
// # Nodes
//
// A Node (Store.Join) writes its NodeInfo — ID, API, media and SIP
// address, Load, draining flag, start time — as a key with a TTL (HeartbeatTTL,
// default 3 s), rewritten every HeartbeatEvery (default 1 s) by a
// goroutine the node owns and Close waits for. A node is live while that
// key exists; Store.Nodes lists the live ones and drops the others from
// the set of known nodes.
//
// A Reporter (Node.ReportLoad) measures the node's Load every second
// from its room manager's snapshots (LocalRooms): rooms, rooms sending a
// composite, participants, the mean busy share of the room workers, and
// the video weight — the tick time of a composed room against that of
// audio rooms and their participants, as the node measures it
// (DefaultVideoWeight until it has both kinds running at once).
//
// # Rooms
//
// A room's host is the node named by its lease key. Store.Claim sets it
// atomically unless another node holds it; the host's goroutine renews
// all its leases (LeaseTTL, default 5 s) every RenewEvery (default
// 1.5 s) in one round trip, takes back a lease that lapsed while Redis
// was away if nobody else claimed it, and reports a lease another node
// took (OnLost): the node must stop hosting that room. A node that dies
// stops renewing; its rooms are free once their leases lapse.
//
// Store.Place returns a room's host, or picks the live, non-draining node
// with the lowest Load.Score, counting the rooms placed on each node since
// its last load report (ties: fewer rooms, then the lower ID), and
// claims the room for it, so concurrent placements of one room agree.
// That claim lasts one lease period; the chosen node keeps the room by
// claiming it itself (Node.Claim) when it starts hosting it.
// Store.Locate returns a room's host, placing the room when its
// configuration is stored and it has no host.
//
// A room's configuration is an opaque JSON document (Store.CreateRoom,
// SaveRoom, LoadRoom, DeleteRoom), and the set of rooms that have one
// (Store.RoomIDs) answers "exists" and "list" on any node. It stays in
// Redis until deleted, whichever node hosts the room; Redis should
// therefore persist its data (RDB or AOF) for rooms to survive a restart
// of Redis itself.
//
// # Bus
//
// Node.Request sends a request to another node and waits for its reply
// (correlation IDs; each node has a request channel and a reply channel);
// Node.Serve registers the handler of a method. Store.Publish and
// Node.Subscribe carry a room's event stream. Pub/sub delivers only to
// who listens at that moment: requests have deadlines, events are a live
// stream. Where messages wait in the process (incoming requests, each
// subscriber's events) the queue is bounded; what does not fit is
// dropped and counted (Node.Stats, Subscription.Dropped). Node.Stats
// also counts the requests a node sent and served and the room events it
// received.
//
// # Redis outage
//
// Every operation is bounded by OpTimeout (default 1 s); when Redis
// cannot be reached it fails with an error wrapping ErrUnavailable. The
// node's goroutines keep heartbeating, renewing and reading the bus, and
// recover when Redis returns; the client reconnects and subscribes again
// by itself. Rooms keep running meanwhile: hosting a room needs Redis
// only to claim it.
//
// # Keys
//
// Every key and channel begins with Config.Prefix (default "tessera:"):
//
//	nodes                 set of node IDs that heartbeated (dead ones are dropped by Nodes)
//	node:<id>             JSON NodeInfo, TTL HeartbeatTTL: present while the node is live
//	node:<id>:pending     rooms placed on the node since its last load report (TTL 10 s)
//	room:<room>:host      ID of the node hosting the room, TTL LeaseTTL (the lease)
//	room:<room>:config    JSON configuration of the room, no TTL
//	rooms                 set of room IDs with a stored configuration
//
// and pub/sub channels:
//
//	bus:<id>:requests     requests to node <id> (JSON: id, from, method, body)
//	bus:<id>:replies      replies to node <id>'s requests (JSON: id, from, body, err)
//	room:<room>:events    the room's event stream (opaque bytes)
//
// Node IDs are 1 to 64 letters, digits, '.', '_' or '-'; room IDs are
// decimal uint64.
package cluster
