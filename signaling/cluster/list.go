package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/tessera-mcu/tessera/room"
	rc "github.com/tessera-mcu/tessera/room/cluster"
	"github.com/tessera-mcu/tessera/signaling/janus"
)

// The requests any node answers about every room: exists (from the
// stored configurations) and list (every live node's rooms).

func roomID(v uint64) room.RoomID { return room.RoomID(v) }

// exists answers from the configuration store: a room exists while its
// configuration does, whichever node hosts it, if any.
func (w *wrapper) exists(ctx context.Context, id rc.RoomID) janus.M {
	ctx, cancel := context.WithTimeout(ctx, w.c.opts.RequestTimeout)
	defer cancel()
	_, err := w.c.store.LoadRoom(ctx, id)
	if err != nil && !errors.Is(err, rc.ErrNoRoom) {
		return errorData(w.key, codeUnknownError, fmt.Sprintf("Cannot tell whether room %d exists now: %v", id, err))
	}
	return janus.M{w.key: "success", "room": uint64(id), "exists": err == nil}
}

// list merges the lists of every live node (a node that does not answer
// in time is left out) with the rooms whose configuration is stored but
// that no node has open (listed from that configuration, with nobody in
// them), leaving out private rooms.
func (w *wrapper) list(ctx context.Context) janus.M {
	c := w.c
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	nodes, err := c.store.Nodes(ctx)
	if err != nil {
		return errorData(w.key, codeUnknownError, fmt.Sprintf("Cannot list the rooms now: %v", err))
	}
	lists := make([][]json.RawMessage, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n.ID == c.node.ID() {
				lists[i], _ = w.localList(ctx)
				return
			}
			var rep listReply
			if err := c.request(ctx, n.ID, methodList, listRequest{Plugin: w.inner.Package()}, &rep); err == nil {
				lists[i] = rep.List
			}
		}()
	}
	wg.Wait()
	type entry struct {
		id  uint64
		raw json.RawMessage
	}
	seen := make(map[uint64]bool)
	var out []entry
	for _, l := range lists {
		for _, raw := range l {
			var e struct {
				Room uint64 `json:"room"`
			}
			if json.Unmarshal(raw, &e) != nil || seen[e.Room] {
				continue
			}
			seen[e.Room] = true
			out = append(out, entry{e.Room, raw})
		}
	}
	if ids, err := c.store.RoomIDs(ctx); err == nil {
		for _, id := range ids {
			if seen[uint64(id)] {
				continue
			}
			doc, err := c.rooms.load(ctx, id)
			if err != nil || doc.Private {
				continue
			}
			raw, _ := json.Marshal(janus.M{"room": uint64(id), "description": doc.Config.Description,
				"pin_required": doc.Config.Pin != "", "sampling_rate": room.SampleRate, "spatial_audio": false,
				"record": false, "muted": false, "num_participants": 0, "streams": 0})
			out = append(out, entry{uint64(id), raw})
		}
	}
	slices.SortFunc(out, func(a, b entry) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	list := make([]json.RawMessage, len(out))
	for i, e := range out {
		list[i] = e.raw
	}
	return janus.M{w.key: "success", "list": list}
}

// localList is the plugin's list of the rooms open on this node, without
// the private ones.
func (w *wrapper) localList(ctx context.Context) ([]json.RawMessage, error) {
	ps, err := w.inner.Attach(quietHandle{})
	if err != nil {
		return nil, err
	}
	defer ps.Detach(context.WithoutCancel(ctx))
	data, _ := ps.Handle(ctx, json.RawMessage(`{"request":"list"}`), nil)
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(m["list"], &list); err != nil {
		return nil, fmt.Errorf("cluster: plugin's list: %w", err)
	}
	out := list[:0]
	for _, e := range list {
		var r struct {
			Room uint64 `json:"room"`
		}
		if json.Unmarshal(e, &r) == nil && !w.c.rooms.isPrivate(roomID(r.Room)) {
			out = append(out, e)
		}
	}
	return out, nil
}

// quietHandle is the HandleContext of a plugin session made for one
// request of the node's own: nobody hears its events.
type quietHandle struct{}

func (quietHandle) ID() uint64                         { return 0 }
func (quietHandle) SessionID() uint64                  { return 0 }
func (quietHandle) Event(any, *janus.JSEP)             {}
func (quietHandle) WebRTCUp()                          {}
func (quietHandle) Media(string, string, bool)         {}
func (quietHandle) HangupEvent(string)                 {}
func (quietHandle) SlowLink(string, string, bool, int) {}
func (quietHandle) Notify(any)                         {}
