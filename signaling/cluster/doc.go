// Package cluster makes every node of a Tessera cluster answer the Janus
// API for every room. A client's Janus session lives on the node it
// connected to (its origin); when one of its handles joins a room that
// another node hosts, the origin relays that handle's plugin requests
// to the host and the host's events back to the client. The host runs
// the real plugin session and answers the client's SDP offer, so media
// flows between the client and the host directly. Clients see a Janus
// server like any other: janus.js and janode work unchanged. The room
// directory, placement, configuration store and node bus underneath are
// package room/cluster's, on Redis.
//
// # Wiring
//
// A node in cluster mode joins with Join, lets the room plugins reach
// rooms through Cluster.Rooms, and registers the plugins wrapped by
// Cluster.Wrap:
//
//	store, err := rc.Open(rc.Config{Addr: redisAddr})            // rc: room/cluster
//	cl, err := cluster.Join(ctx, cluster.Options{Store: store, Node: rc.NodeInfo{ID: id,
//		APIAddr: api, MediaAddr: media}, Rooms: manager})
//	ab := janus.NewAudioBridge(cl.Rooms(), engine, log)
//	mcu := janus.NewVideoMCU(cl.Rooms(), engine, log, ab)
//	gw.Register(cl.Wrap(ab))
//	gw.Register(cl.Wrap(mcu))
//	...
//	gw.Close(); cl.Close(); manager.Close(ctx); store.Close()
//
// Rooms made outside the plugins (a demo room) go through Cluster.Rooms
// too, so that their configuration is stored. Cluster.Node is the node
// (SetLoad, SetDraining).
//
// # Routing a handle's request
//
// The request's "request" and "room" decide:
//
//   - list (no room) merges the lists of every live node (a node that
//     does not answer in time is left out) with the stored rooms no node
//     has open;
//   - exists answers from the configuration store: a room exists while
//     its configuration does;
//   - create without a room gets a random room ID here;
//   - a handle bound to a host (after a relayed join) sends its other
//     requests without a room or about its room, its joins and
//     changerooms, and every trickle, hangup and detach to that host; a
//     successful leave, a kick of its participant or the end of its room
//     unbinds it;
//   - any other request without a room runs on the local plugin session;
//   - otherwise the room's host (the node holding its lease) runs it; a
//     create, or a request on a room whose configuration is stored but
//     which no node hosts, is placed first (room/cluster's Place, by
//     load). When the host is this node the local plugin session runs it,
//     else it is forwarded, and a join the host keeps binds the handle.
//
// A request on a room whose host has died but whose lease has not lapsed
// yet is answered with error 499 (try again); once the lease lapses the
// next request places the room again, and it opens on its new host from
// its stored configuration (description, secret, PIN, limits, video
// settings) with nobody in it. A changeroom to a room hosted by another
// node than the handle's room is not supported (the plugin answers that
// there is no such room).
//
// # Hosting rooms
//
// Rooms (a janus.Rooms) keeps the rooms this node hosts on its
// room.Manager. Create stores the room's configuration ({"config":
// room.Config, "private": bool}; "already exists" when any node has it)
// and claims the room for this node; Get of a room not open here whose
// configuration is stored, and which this node was placed for or whose
// lease is free, claims it and opens it from that configuration; Destroy
// ends it here, releases its lease and deletes its configuration. An
// edit answered here (description, secret, PIN, is_private) is stored
// again. A room whose lease another node took (the node was away from
// Redis longer than a lease) ends here: its participants get the usual
// destroyed and hangup events.
//
// # The relay on the bus
//
// The origin sends a relayed handle's requests with Node.Request
// (methods janus.message, janus.trickle, janus.hangup, janus.detach; and
// janus.list for list), each bounded by Options.RequestTimeout. The host
// keys a relayed handle by (origin node, plugin, session ID, handle ID):
// a request of an unbound handle gets a plugin session for that request
// only, kept when it is a join that succeeds. That session's
// HandleContext queues everything the plugin tells it (events with their
// JSEP, webrtcup, media, hangup, slowlink, and the plugin's notify
// events) in a bounded queue that drops and counts (Options.EventQueue);
// one sender goroutine per hosted handle publishes them in order, in
// numbered batches, on the room's event channel:
//
//	{"relay": {"host": ..., "origin": ..., "plugin": ..., "session": ..., "handle": ...,
//	           "events": [{"seq": 1, "kind": "event", "data": {...}, "jsep": {...}}, ...]}}
//
// The origin subscribes to the room's channel (one subscription per room
// per node) while one of its handles is bound to the room, before the
// join goes out, and hands each handle its events in sequence order
// (a gap is counted as lost). Every reply carries the number of the last
// event the host queued before it, and the origin delivers those events
// before the reply, so a client hears of a detached handle's hangup
// before detached. Plugin notify events reach the event handlers of the
// origin, with the client's session and handle IDs.
//
// # Failure
//
// One watcher goroutine per node lists the live nodes every
// Options.WatchEvery while it has relayed or hosted handles; a node
// missing from two lists in a row is dead. When a bound handle's host is
// dead, or a request to it finds no listener, gets no reply or is told
// the host no longer knows the handle, the origin unbinds the handle and
// tells the client what a Janus client hears when its room goes away: a
// hangup (reason "Room host lost") when it had media, and the plugin
// event
//
//	{"<plugin key>": "event", "room": <room>, "leaving": <its participant id>, "reason": "host lost"}
//
// and the request that found out gets error 499. When a hosted handle's
// origin is dead, its participant leaves the room. During a Redis outage
// nothing is judged dead (the live nodes cannot be listed) and running
// relays keep their media; the events their hosts could not publish
// meanwhile are lost (counted in Stats).
package cluster
