package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
)

// The room configuration store: a room's configuration (description,
// secret, PIN, limits, video settings, ...) as an opaque JSON document,
// and the set of room IDs that have one. It outlives the room's host, so
// any node can answer whether a room exists and list the rooms, and a
// room placed again after its host died comes back with its settings.

// CreateRoom stores room's configuration unless one is stored already
// (ErrRoomExists).
func (s *Store) CreateRoom(ctx context.Context, room RoomID, config json.RawMessage) error {
	if !json.Valid(config) {
		return fmt.Errorf("cluster: room %d: configuration is not JSON", room)
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	var set *redis.BoolCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		set = p.SetNX(ctx, s.k.config(room), []byte(config), 0)
		p.SAdd(ctx, s.k.rooms(), room.String())
		return nil
	})
	if err != nil {
		return wrap(ctx, "create room", err)
	}
	if !set.Val() {
		return fmt.Errorf("%w: %d", ErrRoomExists, room)
	}
	return nil
}

// SaveRoom stores room's configuration, replacing any stored one.
func (s *Store) SaveRoom(ctx context.Context, room RoomID, config json.RawMessage) error {
	if !json.Valid(config) {
		return fmt.Errorf("cluster: room %d: configuration is not JSON", room)
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.k.config(room), []byte(config), 0)
		p.SAdd(ctx, s.k.rooms(), room.String())
		return nil
	})
	return wrap(ctx, "save room", err)
}

// LoadRoom returns room's stored configuration, or ErrNoRoom.
func (s *Store) LoadRoom(ctx context.Context, room RoomID) (json.RawMessage, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	b, err := s.rdb.Get(ctx, s.k.config(room)).Bytes()
	if err == redis.Nil {
		return nil, fmt.Errorf("%w: %d", ErrNoRoom, room)
	}
	if err != nil {
		return nil, wrap(ctx, "load room", err)
	}
	return json.RawMessage(b), nil
}

// DeleteRoom removes room's configuration; ErrNoRoom when none was
// stored. It does not touch the room's lease: the host releases that.
func (s *Store) DeleteRoom(ctx context.Context, room RoomID) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var del *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.Del(ctx, s.k.config(room))
		p.SRem(ctx, s.k.rooms(), room.String())
		return nil
	})
	if err != nil {
		return wrap(ctx, "delete room", err)
	}
	if del.Val() == 0 {
		return fmt.Errorf("%w: %d", ErrNoRoom, room)
	}
	return nil
}

// RoomIDs lists the rooms that have a stored configuration, in ascending
// order.
func (s *Store) RoomIDs(ctx context.Context) ([]RoomID, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	vals, err := s.rdb.SMembers(ctx, s.k.rooms()).Result()
	if err != nil {
		return nil, wrap(ctx, "list rooms", err)
	}
	out := make([]RoomID, 0, len(vals))
	for _, v := range vals {
		if id, err := parseRoomID(v); err == nil {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}
