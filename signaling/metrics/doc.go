// Package metrics exposes Tessera's state to Prometheus: rooms and
// participants, Janus sessions, handles and requests, the room workers'
// ticks, the media on the port, recordings, and the Go runtime and
// process. It is served on a listener of its own (see Handler), optionally
// behind a bearer key.
//
// Almost everything is read when Prometheus scrapes, from the snapshots
// the rooms, the workers and the media engine already keep (nothing is
// pushed from the media path, and a scrape never waits for a room). Only
// Janus requests are counted as they are answered, through the gateway's
// RequestObserver.
//
// Names carry the tessera_ prefix and base units (seconds, bytes); only
// counters end in _total. No label names a participant, a session or a
// room: every label has a small, fixed set of values (medium, direction,
// kind of connection, request type, Janus error code, worker index,
// codec and tier).
//
//	m := metrics.New(metrics.Options{Rooms: rooms, Media: engine, Janus: gw, Version: version})
//	gw := janus.NewGateway(janus.Options{Observer: m, ...})
//	http.ListenAndServe("127.0.0.1:9090", m.Handler("key"))
package metrics
