package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
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
