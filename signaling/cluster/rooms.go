package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tessera-mcu/tessera/room"
	rc "github.com/tessera-mcu/tessera/room/cluster"
	"github.com/tessera-mcu/tessera/signaling/janus"
)

// storedRoom is a room's configuration as the cluster stores it.
type storedRoom struct {
	Config room.Config `json:"config"`
	// Private: list leaves the room out (is_private).
	Private bool `json:"private,omitempty"`
}

// maxRoomID is the largest room ID (what a JSON number holds exactly).
const maxRoomID = 1<<53 - 1

// randomRoomID picks a room ID for a create that names none.
func randomRoomID() uint64 { return rand.Uint64N(maxRoomID) + 1 }

// Rooms is the room plugins' view of the rooms in cluster mode
// (janus.Rooms): the rooms this node hosts, on the local room.Manager,
// with their configurations in the cluster's store and their leases held
// by this node. A room whose configuration is stored and which this node
// was placed for (or whose lease is free) opens here from its stored
// configuration the first time it is asked for.
type Rooms struct {
	mgr   *room.Manager
	store *rc.Store
	node  *rc.Node
	c     *Cluster

	mu      sync.Mutex
	private map[room.RoomID]bool
}

var _ janus.Rooms = (*Rooms)(nil)

// opTimeout bounds the store round trips of one Rooms call.
const opTimeout = 3 * time.Second

func (r *Rooms) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

// Create stores the room's configuration (room.ErrRoomExists when any
// node has one for its ID), claims the room for this node and opens it.
func (r *Rooms) Create(cfg room.Config) (*room.Room, error) {
	if cfg.ID == 0 {
		cfg.ID = room.RoomID(randomRoomID())
	}
	if uint64(cfg.ID) > maxRoomID {
		return nil, fmt.Errorf("%w: room ID %d exceeds 2^53-1", room.ErrInvalidConfig, cfg.ID)
	}
	id := rc.RoomID(cfg.ID)
	doc, err := json.Marshal(storedRoom{Config: cfg})
	if err != nil {
		return nil, err
	}
	ctx, cancel := r.ctx()
	defer cancel()
	if err := r.store.CreateRoom(ctx, id, doc); err != nil {
		if errors.Is(err, rc.ErrRoomExists) {
			return nil, fmt.Errorf("%w: %d", room.ErrRoomExists, cfg.ID)
		}
		return nil, err
	}
	undo := func() { _ = r.store.DeleteRoom(context.WithoutCancel(ctx), id) }
	host, err := r.node.Claim(ctx, id)
	if err == nil && host != r.node.ID() {
		err = fmt.Errorf("%w: room %d on %s", ErrPlaced, id, host)
	}
	if err != nil {
		undo()
		return nil, err
	}
	rm, err := r.mgr.Create(cfg)
	if err != nil {
		_ = r.node.Release(context.WithoutCancel(ctx), id)
		undo()
		return nil, err
	}
	return rm, nil
}

// Get returns the room when it is open here; else, when its
// configuration is stored and this node can claim it, opens it from that
// configuration (a room comes back this way on another node after its
// host died). A room hosted elsewhere, or with no configuration, is
// room.ErrRoomNotFound.
func (r *Rooms) Get(id room.RoomID) (*room.Room, error) {
	if rm, err := r.mgr.Get(id); err == nil {
		return rm, nil
	}
	ctx, cancel := r.ctx()
	defer cancel()
	doc, err := r.load(ctx, rc.RoomID(id))
	if err != nil {
		return nil, fmt.Errorf("%w: %d (%w)", room.ErrRoomNotFound, id, err)
	}
	host, err := r.node.Claim(ctx, rc.RoomID(id))
	if err != nil {
		return nil, fmt.Errorf("%w: %d (%w)", room.ErrRoomNotFound, id, err)
	}
	if host != r.node.ID() {
		return nil, fmt.Errorf("%w: %d (%w: %s)", room.ErrRoomNotFound, id, ErrPlaced, host)
	}
	doc.Config.ID = id
	rm, err := r.mgr.Create(doc.Config)
	if errors.Is(err, room.ErrRoomExists) {
		return r.mgr.Get(id) // opened by a request at the same time
	}
	if err != nil {
		_ = r.node.Release(context.WithoutCancel(ctx), rc.RoomID(id))
		return nil, err
	}
	r.setPrivate(id, doc.Private)
	r.c.log.Info("cluster: room opened from its stored configuration", "room", uint64(id))
	return rm, nil
}

// Destroy ends the room here, gives up its lease and deletes its
// configuration: the room no longer exists anywhere.
func (r *Rooms) Destroy(ctx context.Context, id room.RoomID) error {
	err := r.mgr.Destroy(ctx, id)
	if err != nil && !errors.Is(err, room.ErrRoomNotFound) {
		return err
	}
	sctx, cancel := r.ctx()
	defer cancel()
	_ = r.node.Release(sctx, rc.RoomID(id))
	derr := r.store.DeleteRoom(sctx, rc.RoomID(id))
	r.setPrivate(id, false)
	if err != nil && errors.Is(derr, rc.ErrNoRoom) {
		return err // open nowhere and stored nowhere: no such room
	}
	if derr != nil && !errors.Is(derr, rc.ErrNoRoom) {
		return derr
	}
	return nil
}

// Summaries describes the rooms open on this node.
func (r *Rooms) Summaries() []room.Summary { return r.mgr.Summaries() }

// lost stops hosting a room whose lease another node took: the room ends
// here (its participants get the usual destroyed and hangup events); its
// configuration stays. It is the node's OnLost, so it returns at once.
func (r *Rooms) lost(id rc.RoomID) {
	r.c.goTracked(func() {
		ctx, cancel := r.ctx()
		defer cancel()
		if err := r.mgr.Destroy(ctx, room.RoomID(id)); err == nil {
			r.c.log.Warn("cluster: room's lease taken by another node; room ended here", "room", uint64(id))
		}
	})
}

// load reads a room's stored configuration.
func (r *Rooms) load(ctx context.Context, id rc.RoomID) (storedRoom, error) {
	raw, err := r.store.LoadRoom(ctx, id)
	if err != nil {
		return storedRoom{}, err
	}
	var doc storedRoom
	if err := json.Unmarshal(raw, &doc); err != nil {
		return storedRoom{}, fmt.Errorf("cluster: room %d: stored configuration: %w", id, err)
	}
	return doc, nil
}

// saved stores what a create or an edit the plugin answered here changed
// that the stored configuration must keep: the description, secret and
// PIN as the open room has them, and whether the room is private (nil:
// unchanged).
func (r *Rooms) saved(ctx context.Context, id room.RoomID, private *bool) error {
	doc, err := r.load(ctx, rc.RoomID(id))
	if err != nil {
		return err
	}
	if rm, err := r.mgr.Get(id); err == nil {
		cfg := rm.Config()
		doc.Config.Description, doc.Config.Secret, doc.Config.Pin = cfg.Description, cfg.Secret, cfg.Pin
	}
	if private != nil {
		doc.Private = *private
		r.setPrivate(id, *private)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return r.store.SaveRoom(ctx, rc.RoomID(id), b)
}

func (r *Rooms) setPrivate(id room.RoomID, private bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if private {
		r.private[id] = true
	} else {
		delete(r.private, id)
	}
}

func (r *Rooms) isPrivate(id room.RoomID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.private[id]
}
