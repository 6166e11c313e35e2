package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tessera-mcu/tessera/internal/procstat"
	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room/cluster"
)

// quietLevel is the amplitude of every participant's tone but the
// talkers': real audio that stays below the talkers.
const quietLevel = 0.02

// member is one participant of the placement step.
type member struct {
	j      *janus
	room   uint64
	origin cluster.NodeID
}

// placement creates rooms through the first node, fills them with
// participants whose sessions go to the nodes in turn, and reports where
// everything landed and what each node spends.
func (b *bench) placement(rooms, per, talkers int, window time.Duration) error {
	ctx := context.Background()
	base := roomBase() + 100
	// Load reports from before (the latency step's room) age out first.
	time.Sleep(3 * cluster.DefaultReportEvery)
	hosts := map[uint64]cluster.NodeID{}
	for i := range rooms {
		id := base + uint64(i)
		host, err := b.createRoom(b.nodes[0], id)
		if err != nil {
			return fmt.Errorf("creating room %d: %w", id, err)
		}
		hosts[id] = host
	}
	var members []member
	for i := range rooms {
		id := base + uint64(i)
		for k := range per {
			n := b.nodes[(i*per+k)%len(b.nodes)]
			opts := testpeer.Options{ToneHz: 950, Amplitude: quietLevel}
			if k < talkers {
				opts = testpeer.Options{ToneHz: 300 + 110*float64(k)}
			}
			j, err := dial(n.addr, plugin)
			if err != nil {
				return err
			}
			b.open = append(b.open, j)
			if _, err := j.join(id, fmt.Sprintf("r%dp%d", i, k), opts); err != nil {
				return fmt.Errorf("participant %d of room %d via %s: %w", k, id, n.id, err)
			}
			members = append(members, member{j: j, room: id, origin: n.id})
		}
	}
	time.Sleep(3 * time.Second) // settle, and a load report or two
	c0 := make([]float64, len(b.nodes))
	for i, n := range b.nodes {
		var err error
		if c0[i], err = procstat.CPUSeconds(n.pid); err != nil {
			return err
		}
	}
	t0 := time.Now()
	time.Sleep(window)
	secs := time.Since(t0).Seconds()
	cpu := map[cluster.NodeID]float64{}
	for i, n := range b.nodes {
		c1, err := procstat.CPUSeconds(n.pid)
		if err != nil {
			return err
		}
		cpu[n.id] = (c1 - c0[i]) / secs
	}
	// Audio packets a second each participant received, by where its
	// session is: on its room's host (direct) or relayed.
	var direct, relayed []float64
	for _, m := range members {
		r := float64(len(m.j.peer.ArrivalsSince(t0))) / secs
		if m.origin == hosts[m.room] {
			direct = append(direct, r)
		} else {
			relayed = append(relayed, r)
		}
	}
	// Where the rooms are now (their leases), and what the nodes report.
	type row struct {
		rooms, participants, sessions, relayed int
		load                                   cluster.Load
	}
	rows := map[cluster.NodeID]*row{}
	for _, n := range b.nodes {
		rows[n.id] = &row{}
	}
	for id := range hosts {
		h, ok, err := b.store.Host(ctx, cluster.RoomID(id))
		if err != nil {
			return err
		}
		if !ok || rows[h] == nil {
			return fmt.Errorf("room %d has no host under test (%q)", id, h)
		}
		hosts[id] = h
		rows[h].rooms++
	}
	for _, m := range members {
		rows[hosts[m.room]].participants++
		rows[m.origin].sessions++
		if m.origin != hosts[m.room] {
			rows[m.origin].relayed++
		}
	}
	infos, err := b.store.Nodes(ctx)
	if err != nil {
		return err
	}
	for _, in := range infos {
		if r := rows[in.ID]; r != nil {
			r.load = in.Load
		}
	}
	fmt.Printf("### Placement: %d rooms created through node %s, %d participants each (%d loud), sessions spread over the nodes in turn\n\n",
		rooms, b.nodes[0].id, per, min(talkers, per))
	fmt.Printf("| node | rooms hosted | participants in its rooms | sessions on it (relayed) | reported load: rooms / participants / workers busy / score | CPU (%% of a core) |\n")
	fmt.Printf("|---|---:|---:|---:|---|---:|\n")
	var total float64
	for _, id := range sortedKeys(rows) {
		r := rows[id]
		total += cpu[id]
		fmt.Printf("| %s | %d | %d | %d (%d) | %d / %d / %.1f%% / %.1f | %.1f |\n", id, r.rooms, r.participants, r.sessions, r.relayed,
			r.load.Rooms, r.load.Participants, r.load.CPU*100, r.load.Score(), cpu[id]*100)
	}
	fmt.Printf("\nAll nodes: %.1f%% of a core over %.0f s. Audio packets/s received: %s (sessions on the room's host), %s (relayed).\n\n",
		total*100, secs, rates(direct), rates(relayed))
	return nil
}

// rates says the lowest and the median of rs.
func rates(rs []float64) string {
	if len(rs) == 0 {
		return "none"
	}
	slices.Sort(rs)
	return fmt.Sprintf("min %.1f, median %.1f of %d", rs[0], rs[len(rs)/2], len(rs))
}
