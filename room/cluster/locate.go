package cluster

import "context"

// Locate returns the node that hosts room, placing the room (Place) when
// its configuration is stored and no node holds its lease. ErrNoRoom: no
// node hosts the room and no configuration is stored for it; ErrNoNode:
// its host's heartbeat lapsed while its lease still runs (the room can be
// placed again once the lease lapses too), or no live node takes rooms.
func (s *Store) Locate(ctx context.Context, room RoomID) (NodeInfo, error) {
	host, ok, err := s.Host(ctx, room)
	if err != nil {
		return NodeInfo{}, err
	}
	if ok {
		return s.hostInfo(ctx, room, host)
	}
	if _, err := s.LoadRoom(ctx, room); err != nil {
		return NodeInfo{}, err
	}
	return s.Place(ctx, room)
}
