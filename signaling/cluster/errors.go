package cluster

import "errors"

// Errors of the package. They are wrapped with %w; test with errors.Is.
var (
	// ErrHostLost: the node hosting a handle's room cannot be reached (its
	// heartbeat lapsed, it has no listener on the bus, or it did not
	// answer in time).
	ErrHostLost = errors.New("cluster: room host lost")
	// ErrNotRelayed: a request names a relayed handle the host does not
	// know (it ended, or the host restarted).
	ErrNotRelayed = errors.New("cluster: no such relayed handle")
	// ErrNoPlugin: a relayed request names a plugin this node did not wrap.
	ErrNoPlugin = errors.New("cluster: no such plugin")
	// ErrPlaced: the room is hosted by another node.
	ErrPlaced = errors.New("cluster: room hosted by another node")

	// errGone: the host no longer knows a bound handle.
	errGone = errors.New("the room's host no longer knows this handle")
)
