package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Errors of the package. Operations wrap them with %w; test with errors.Is.
var (
	// ErrUnavailable: Redis could not be reached or did not answer in
	// time. The operation may be retried; nodes keep heartbeating and
	// renewing by themselves and recover when Redis returns.
	ErrUnavailable = errors.New("cluster: redis unavailable")
	// ErrNoNode: no live node to place a room on, or the node a request
	// or claim names is not live.
	ErrNoNode = errors.New("cluster: no live node")
	// ErrNotOwner: the node does not hold the room's lease.
	ErrNotOwner = errors.New("cluster: node does not host the room")
	// ErrDraining: the node is draining and takes no new rooms.
	ErrDraining = errors.New("cluster: node is draining")
	// ErrNoRoom: no configuration is stored for the room.
	ErrNoRoom = errors.New("cluster: no such room")
	// ErrRoomExists: a configuration is already stored for the room.
	ErrRoomExists = errors.New("cluster: room already exists")
	// ErrBadID: a node ID that is empty, too long, or has characters
	// other than letters, digits, '.', '_' and '-'.
	ErrBadID = errors.New("cluster: invalid node ID")
	// ErrNoReply: a request got no reply within its deadline.
	ErrNoReply = errors.New("cluster: no reply")
	// ErrRemote: the serving node answered a request with an error (its
	// text follows), or has no handler for the method.
	ErrRemote = errors.New("cluster: remote error")
	// ErrClosed: the node or store is closed.
	ErrClosed = errors.New("cluster: closed")
)

// wrap turns an error of the Redis client into the package's errors: the
// caller's cancellation stays itself; anything that says Redis could not
// be reached or did not answer (network errors, timeouts, a full pool, a
// server still loading its data) becomes ErrUnavailable; other replies
// of the server keep their text.
func wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("cluster: %s: %w", op, ctx.Err())
	}
	if errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("cluster: %s: %w", op, ErrClosed)
	}
	var re redis.Error
	if errors.As(err, &re) && !unavailableReply(re.Error()) {
		return fmt.Errorf("cluster: %s: %w", op, err)
	}
	return fmt.Errorf("cluster: %s: %w (%w)", op, ErrUnavailable, err)
}

// unavailableReply tells the server replies that mean "not now".
func unavailableReply(msg string) bool {
	for _, p := range []string{"LOADING", "MASTERDOWN", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "READONLY"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
