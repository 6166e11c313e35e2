package cluster

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// The room directory: a room's host is the node named by the room's lease
// key. A claim sets the key with the lease TTL unless another node holds
// it; the host renews it (Node) and releases it when the room ends.

// claim makes ARGV[1] the room's host for ARGV[2] ms unless another node
// holds the lease, and only if the node is live (its heartbeat KEYS[2]
// exists). It returns {1, node} when the node holds the lease now, {0,
// host} when another does, {-1, ""} when the node is not live.
var claim = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then
  return {0, cur}
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  return {-1, ''}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, ARGV[1]}
`)

// release deletes the lease if ARGV[1] holds it: 1 deleted, 0 free, -1
// held by another node.
var release = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cur ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
return 1
`)

// renew extends every lease KEYS[i] that ARGV[1] holds, takes back the
// ones that lapsed with nobody else claiming them (Redis was away longer
// than a lease), and returns the 1-based indexes of the ones another node
// holds now.
var renew = redis.NewScript(`
local lost = {}
for i, k in ipairs(KEYS) do
  local cur = redis.call('GET', k)
  if cur == ARGV[1] then
    redis.call('PEXPIRE', k, ARGV[2])
  elseif not cur then
    redis.call('SET', k, ARGV[1], 'PX', ARGV[2])
  else
    lost[#lost + 1] = i
  end
end
return lost
`)

// Claim makes node the host of room unless another node holds a live
// lease on it, atomically. It returns the room's host after the call:
// node itself when the claim succeeded (or node already held it), the
// other host when not. A node that is not live gets ErrNoNode.
//
// A claim for another node (placement) gives that node the lease for one
// lease period; the node keeps it by claiming the room itself (Node.Claim)
// when it starts hosting it, after which it renews the lease.
func (s *Store) Claim(ctx context.Context, room RoomID, node NodeID) (NodeID, error) {
	if err := node.Valid(); err != nil {
		return "", err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	res, err := claim.Run(ctx, s.rdb, []string{s.k.host(room), s.k.node(node)},
		string(node), s.cfg.LeaseTTL.Milliseconds()).Slice()
	if err != nil {
		return "", wrap(ctx, "claim", err)
	}
	status, _ := res[0].(int64)
	host, _ := res[1].(string)
	if status < 0 {
		return "", fmt.Errorf("%w: %s (claim of room %d)", ErrNoNode, node, room)
	}
	return NodeID(host), nil
}

// Host returns the node that holds room's lease; ok is false when no node
// does.
func (s *Store) Host(ctx context.Context, room RoomID) (host NodeID, ok bool, err error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	v, err := s.rdb.Get(ctx, s.k.host(room)).Result()
	if err == redis.Nil {
		return "", false, nil
	}
	if err != nil {
		return "", false, wrap(ctx, "host", err)
	}
	return NodeID(v), true, nil
}

// release ends node's lease on room. It returns ErrNotOwner when another
// node holds it; a lease that already lapsed is no error.
func (s *Store) release(ctx context.Context, room RoomID, node NodeID) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	n, err := release.Run(ctx, s.rdb, []string{s.k.host(room)}, string(node)).Int64()
	if err != nil {
		return wrap(ctx, "release", err)
	}
	if n < 0 {
		return fmt.Errorf("%w: room %d", ErrNotOwner, room)
	}
	return nil
}

// renew extends node's leases on rooms in one round trip and returns the
// rooms another node holds now.
func (s *Store) renew(ctx context.Context, node NodeID, rooms []RoomID) ([]RoomID, error) {
	if len(rooms) == 0 {
		return nil, nil
	}
	keys := make([]string, len(rooms))
	for i, r := range rooms {
		keys[i] = s.k.host(r)
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	idx, err := renew.Run(ctx, s.rdb, keys, string(node), s.cfg.LeaseTTL.Milliseconds()).Int64Slice()
	if err != nil {
		return nil, wrap(ctx, "renew", err)
	}
	lost := make([]RoomID, 0, len(idx))
	for _, i := range idx {
		if i >= 1 && int(i) <= len(rooms) {
			lost = append(lost, rooms[i-1])
		}
	}
	return lost, nil
}
