package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Place returns the node that hosts room: its current host when it has
// one, else the least-loaded live node that is not draining, which it
// claims the room for. Candidates are ordered by Load.Score, then by
// fewer rooms, then by ID, so nodes with the same view choose alike; and
// because the claim is atomic, concurrent Place calls for one room (on
// any nodes) return the same host.
func (s *Store) Place(ctx context.Context, room RoomID) (NodeInfo, error) {
	host, ok, err := s.Host(ctx, room)
	if err != nil {
		return NodeInfo{}, err
	}
	if ok {
		return s.hostInfo(ctx, room, host)
	}
	nodes, err := s.Nodes(ctx)
	if err != nil {
		return NodeInfo{}, err
	}
	nodes = slices.DeleteFunc(nodes, func(n NodeInfo) bool { return n.Draining })
	if err := s.addPending(ctx, nodes); err != nil {
		return NodeInfo{}, err
	}
	slices.SortFunc(nodes, func(a, b NodeInfo) int {
		if c := cmp.Compare(a.Load.Score(), b.Load.Score()); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Load.Rooms, b.Load.Rooms); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	for _, n := range nodes {
		host, err := s.Claim(ctx, room, n.ID)
		if errors.Is(err, ErrNoNode) {
			continue // its heartbeat lapsed since Nodes: the next one
		}
		if err != nil {
			return NodeInfo{}, err
		}
		if host == n.ID {
			s.placed(ctx, n.ID)
			return n, nil
		}
		return s.hostInfo(ctx, room, host) // another Place won
	}
	return NodeInfo{}, fmt.Errorf("%w to place room %d on (%d live, none taking rooms)", ErrNoNode, room, len(nodes))
}

// hostInfo returns the info of room's host. A host whose heartbeat lapsed
// while its lease still runs is ErrNoNode: the room is placed again once
// the lease lapses too.
func (s *Store) hostInfo(ctx context.Context, room RoomID, host NodeID) (NodeInfo, error) {
	n, err := s.Node(ctx, host)
	if err != nil {
		return NodeInfo{}, fmt.Errorf("room %d: host: %w", room, err)
	}
	return n, nil
}

// pendingTTL bounds how long placements wait to show in a node's
// reported load; a node's load report clears them (Node.SetLoad).
const pendingTTL = 10 * time.Second

// addPending counts into each node's rooms those placed on it since its
// last load report, so that a burst of placements (faster than nodes
// report) spreads instead of landing on one node.
func (s *Store) addPending(ctx context.Context, nodes []NodeInfo) error {
	if len(nodes) == 0 {
		return nil
	}
	keys := make([]string, len(nodes))
	for i, n := range nodes {
		keys[i] = s.k.pending(n.ID)
	}
	octx, cancel := s.op(ctx)
	defer cancel()
	vals, err := s.rdb.MGet(octx, keys...).Result()
	if err != nil {
		return wrap(octx, "pending placements", err)
	}
	for i, v := range vals {
		if str, ok := v.(string); ok {
			if n, err := strconv.Atoi(str); err == nil && n > 0 {
				nodes[i].Load.Rooms += n
			}
		}
	}
	return nil
}

// placed counts a placement on node until its next load report. A
// failure only makes the next placements less even.
func (s *Store) placed(ctx context.Context, node NodeID) {
	octx, cancel := s.op(ctx)
	defer cancel()
	_, _ = s.rdb.TxPipelined(octx, func(p redis.Pipeliner) error {
		p.Incr(octx, s.k.pending(node))
		p.Expire(octx, s.k.pending(node), pendingTTL)
		return nil
	})
}
