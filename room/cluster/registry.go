package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// NodeInfo is what a node tells the cluster about itself with every
// heartbeat.
type NodeInfo struct {
	ID NodeID `json:"id"`
	// APIAddr is where the other nodes reach this node's HTTP API
	// (host:port).
	APIAddr string `json:"api_addr"`
	// MediaAddr is the node's media address (host:port of its UDP port),
	// which clients of the rooms it hosts send media to.
	MediaAddr string `json:"media_addr"`
	// SIPAddr is where phones reach the node's SIP user agent (host:port,
	// UDP and TCP); empty when the node takes no SIP calls.
	SIPAddr string `json:"sip_addr,omitempty"`
	Load    Load   `json:"load"`
	// Draining: the node takes no new rooms (it is shutting down and
	// waits for its rooms to empty).
	Draining bool      `json:"draining,omitempty"`
	Started  time.Time `json:"started"`
}

// Load is a node's reported load, the input of placement.
type Load struct {
	Rooms        int `json:"rooms"`
	VideoRooms   int `json:"video_rooms"`
	Participants int `json:"participants"`
	// CPU is the busy share of the node's room workers, 0 to 1.
	CPU float64 `json:"cpu"`
	// VideoWeight is what one video room costs on this node, measured by
	// the node, in participant-equivalents (a composed video room costs
	// far more than an audio one). Zero counts video rooms as rooms.
	VideoWeight float64 `json:"video_weight"`
}

// CPUWeight is how many participant-equivalents a fully busy node's CPU
// counts for in Score.
const CPUWeight = 100

// Score is the load placement compares, lower first:
//
//	rooms + participants + video_rooms*video_weight + cpu*CPUWeight
//
// Every room counts, so empty rooms spread too; the measured video cost
// and the CPU share make a node with composed video rooms look as busy
// as it is.
func (l Load) Score() float64 {
	return float64(l.Rooms) + float64(l.Participants) +
		float64(l.VideoRooms)*l.VideoWeight + l.CPU*CPUWeight
}

// heartbeat writes the node's info with the heartbeat TTL and adds it to
// the set of known nodes, in one round trip; a fresh load report
// (reported) also clears the placements counted since the last one.
func (s *Store) heartbeat(ctx context.Context, info NodeInfo, reported bool) error {
	b, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.k.node(info.ID), b, s.cfg.HeartbeatTTL)
		p.SAdd(ctx, s.k.nodes(), string(info.ID))
		if reported {
			p.Del(ctx, s.k.pending(info.ID))
		}
		return nil
	})
	return wrap(ctx, "heartbeat", err)
}

// leave removes a node's heartbeat (a node that closes is dead at once).
func (s *Store) leave(ctx context.Context, id NodeID) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.k.node(id))
		p.SRem(ctx, s.k.nodes(), string(id))
		return nil
	})
	return wrap(ctx, "leave", err)
}

// liveNodes returns the info of every node whose heartbeat is present and
// drops the others from the set of known nodes, atomically.
var liveNodes = redis.NewScript(`
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('GET', ARGV[1] .. id)
  if v then
    out[#out + 1] = v
  else
    redis.call('SREM', KEYS[1], id)
  end
end
return out
`)

// Nodes lists the live nodes (those whose heartbeat has not lapsed),
// ordered by ID. Dead nodes are dropped from the set of known nodes.
func (s *Store) Nodes(ctx context.Context) ([]NodeInfo, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	vals, err := liveNodes.Run(ctx, s.rdb, []string{s.k.nodes()}, s.k.nodePrefix()).StringSlice()
	if err != nil {
		return nil, wrap(ctx, "nodes", err)
	}
	out := make([]NodeInfo, 0, len(vals))
	for _, v := range vals {
		var n NodeInfo
		if err := json.Unmarshal([]byte(v), &n); err != nil {
			continue // not written by this package; not a node
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b NodeInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Node returns one live node's info; ErrNoNode when its heartbeat has
// lapsed.
func (s *Store) Node(ctx context.Context, id NodeID) (NodeInfo, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	b, err := s.rdb.Get(ctx, s.k.node(id)).Bytes()
	if err == redis.Nil {
		return NodeInfo{}, fmt.Errorf("%w: %s", ErrNoNode, id)
	}
	if err != nil {
		return NodeInfo{}, wrap(ctx, "node", err)
	}
	var n NodeInfo
	if err := json.Unmarshal(b, &n); err != nil {
		return NodeInfo{}, fmt.Errorf("cluster: node %s: %w", id, err)
	}
	return n, nil
}
