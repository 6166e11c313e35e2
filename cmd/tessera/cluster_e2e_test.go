package main

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/internal/e2etool"
	"github.com/tessera-mcu/tessera/internal/redistest"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

const audioBridge = "janus.plugin.audiobridge"

// Three nodes as processes on one Redis. A room with a secret and a PIN,
// created through one node, is hosted on one of them; a janode
// AudioBridge client on a second node and a pion MCU client on the third
// join it: each hears the other, the MCU client's composite draws the
// janode participant's tile, and both send their media to the host's
// port. The host is killed (SIGKILL): within the lease time both clients
// get hangup and leaving events, and a join through the janode's node
// places the room again on a live node with its PIN and secret.
func TestClusterThreeNodes(t *testing.T) {
	needJanode(t)
	redis := redistest.New(t)
	nodes := startCluster(t, redis, "a", "b", "c")
	const roomID, pin, secret = 4321, "2468", "s3cret"

	admin := attach(t, nodes[0].api, audioBridge)
	if d := admin.request(map[string]any{"request": "create", "room": roomID, "description": "three nodes",
		"secret": secret, "pin": pin}); d["audiobridge"] != "created" {
		t.Fatalf("create through %s: %v", nodes[0].id, d)
	}
	hostID := hostOf(t, redis, roomID)
	var host *procNode
	var others []*procNode
	for _, n := range nodes {
		if n.id == hostID {
			host = n
		} else {
			others = append(others, n)
		}
	}
	if host == nil || len(others) != 2 {
		t.Fatalf("room %d hosted by %q", roomID, hostID)
	}
	janodeNode, pionNode := others[0], others[1]
	t.Logf("room on %s; janode through %s, pion through %s", host.id, janodeNode.id, pionNode.id)

	// The janode client talks at 440 Hz, the pion client at 660 Hz with
	// video.
	pj, peer := joinMCURoom(t, pionNode.api, roomID, pin, "pion", testpeer.Options{ToneHz: 660, Video: "vp8"})
	jc := startJanode(t, janodeNode.api, roomID, pin, 440, 60)
	feed := uint64(num(jc.expect("joined", 15*time.Second, step("joined")), "feed"))
	up := jc.expect("up", 15*time.Second, step("up"))
	pionID := participantIDs(pj)["pion"]
	if feed == 0 || pionID == 0 {
		t.Fatalf("participants: janode %d, pion %d (%v)", feed, pionID, participantIDs(pj))
	}

	// Both connections go to the host's media port.
	if want := "127.0.0.1:" + strconv.Itoa(host.media); up["remote"] != want {
		t.Errorf("janode's selected pair goes to %v, want the host's %s", up["remote"], want)
	}
	if p := selectedRemotePort(t, peer); p != host.media {
		t.Errorf("the pion client's selected pair goes to port %d, want the host's %d (janode's node %d, pion's node %d)",
			p, host.media, janodeNode.media, pionNode.media)
	}

	// The pion client hears janode, and sees its tile drawn.
	if !eventuallyTrue(10*time.Second, func() bool { return peer.Level(440, 500*time.Millisecond) >= 0.15 }) {
		t.Errorf("the pion client hears janode at %.3f", peer.Level(440, 500*time.Millisecond))
	}
	var centre, corner codec.YUV
	var listed bool
	if !eventuallyTrue(10*time.Second, func() bool {
		x, y, w, h, cw, ok := tileOf(pj, feed)
		listed = listed || ok
		f := peer.VideoFrame()
		if !ok || f == nil {
			return false
		}
		s := float64(f.Width) / float64(cw)
		sx, sy, sw, sh := int(float64(x)*s), int(float64(y)*s), int(float64(w)*s), int(float64(h)*s)
		centre = f.Mean(codec.R(sx+sw*2/5, sy+sh*2/5, sw/5, sh/5))
		corner = f.Mean(codec.R(sx+sw/20, sy+sh/20, sw/10, sh/10))
		return centre.Distance(corner) >= 20
	}) {
		t.Errorf("janode's tile (listed by tiles through %s: %v): centre %+v, corner %+v: no placeholder drawn",
			pionNode.id, listed, centre, corner)
	}
	t.Logf("pion hears janode at %.2f; janode's tile: centre %+v, corner %+v", peer.Level(440, 500*time.Millisecond), centre, corner)

	// janode records what it hears until its hangup: let it hear the
	// pion client for a while.
	time.Sleep(2500 * time.Millisecond)

	// The host dies: both clients are told within the lease time.
	killed := time.Now()
	host.kill()
	jc.expect("janode's hangup", 2*leaseTime, func(m map[string]any) bool { return m["event"] == "hangup" })
	janodeHangup := time.Since(killed)
	jc.expect("janode leaving", 2*leaseTime, func(m map[string]any) bool { return m["event"] == "leaving" && num(m, "feed") == feed })
	pj.await("the pion client's hangup", 2*leaseTime, func(m map[string]any) bool { return m["janus"] == "hangup" })
	pionHangup := time.Since(killed)
	pj.await("the pion client leaving", 2*leaseTime, func(m map[string]any) bool {
		return num(pluginData(m), "leaving") == pionID
	})
	told := time.Since(killed)
	t.Logf("after the kill: janode's hangup %v, the pion client's %v, both leaving %v",
		janodeHangup.Round(10*time.Millisecond), pionHangup.Round(10*time.Millisecond), told.Round(10*time.Millisecond))
	// A relay judges a host dead when its heartbeat has lapsed (3 s) and
	// two of its watches in a row (1 s apart) missed it: at most the
	// lease time, and the events' way to the clients.
	if told > leaseTime+time.Second {
		t.Errorf("clients told %v after the host died, beyond the lease time %v", told, leaseTime)
	}

	// janode heard the pion client while the room lived.
	done := jc.expect("done", 5*time.Second, step("done"))
	pcm := e2etool.DecodePackets(t, jc.out)
	lvl := bestLevel(pcm, 660)
	if lvl < 0.15 {
		t.Errorf("janode hears the pion client at %.3f (%v)", lvl, done)
	}
	t.Logf("janode heard the pion client at %.2f (%v packets)", lvl, done["received"])

	// A join through janode's node places the room again on a live node,
	// with its PIN and its secret.
	again := attach(t, janodeNode.api, audioBridge)
	var d map[string]any
	for deadline := time.Now().Add(3 * leaseTime); ; time.Sleep(100 * time.Millisecond) {
		d = again.request(map[string]any{"request": "join", "room": roomID, "pin": "wrong", "display": "again"})
		if num(d, "error_code") != 499 || time.Now().After(deadline) {
			break
		}
	}
	if num(d, "error_code") != 489 {
		t.Fatalf("join with a wrong PIN after the host died: %v, want 489", d)
	}
	if d := again.request(map[string]any{"request": "join", "room": roomID, "pin": pin, "display": "again"}); d["audiobridge"] != "joined" {
		t.Fatalf("join with the PIN after the host died: %v", d)
	}
	rejoined := time.Since(killed)
	newHost := hostOf(t, redis, roomID)
	if newHost == host.id || !slices.ContainsFunc(others, func(n *procNode) bool { return n.id == newHost }) {
		t.Fatalf("room placed again on %q, want %s or %s", newHost, others[0].id, others[1].id)
	}
	t.Logf("room placed again on %s, joined %v after the kill", newHost, rejoined.Round(10*time.Millisecond))
	ad := attach(t, pionNode.api, audioBridge)
	if d := ad.request(map[string]any{"request": "edit", "room": roomID, "secret": "wrong", "new_description": "x"}); num(d, "error_code") != 489 {
		t.Errorf("edit with a wrong secret: %v, want 489", d)
	}
	if d := ad.request(map[string]any{"request": "destroy", "room": roomID}); num(d, "error_code") != 489 {
		t.Errorf("destroy without the secret: %v, want 489", d)
	}
	if d := ad.request(map[string]any{"request": "destroy", "room": roomID, "secret": secret}); d["audiobridge"] != "destroyed" {
		t.Errorf("destroy with the secret: %v", d)
	}
	if h := hostOf(t, redis, roomID); h != "" {
		t.Errorf("room destroyed but still leased by %q", h)
	}
}

// 30 rooms created through one node spread over the three by load, and
// every node answers exists and list about all of them.
func TestClusterSpreadsRooms(t *testing.T) {
	redis := redistest.New(t)
	nodes := startCluster(t, redis, "a", "b", "c")
	a := attach(t, nodes[0].api, audioBridge)
	var ids []uint64
	for range 30 {
		d := a.request(map[string]any{"request": "create", "description": "spread"})
		if d["audiobridge"] != "created" || num(d, "room") == 0 {
			t.Fatalf("create through a: %v", d)
		}
		ids = append(ids, num(d, "room"))
	}
	per := map[string]int{}
	for _, id := range ids {
		per[hostOf(t, redis, id)]++
	}
	t.Logf("rooms per node: %v", per)
	for _, n := range nodes {
		if per[n.id] == 0 || per[n.id] > 14 {
			t.Errorf("node %s hosts %d of the 30 rooms (all: %v), want 1 to 14", n.id, per[n.id], per)
		}
	}
	if len(per) != 3 {
		t.Errorf("rooms leased by %v, want the three nodes only", per)
	}

	c := attach(t, nodes[2].api, audioBridge)
	for _, id := range ids {
		if d := c.request(map[string]any{"request": "exists", "room": id}); d["exists"] != true {
			t.Errorf("exists %d through c: %v", id, d)
		}
	}
	var listed []uint64
	list, _ := c.request(map[string]any{"request": "list"})["list"].([]any)
	for _, r := range list {
		m, _ := r.(map[string]any)
		listed = append(listed, num(m, "room"))
	}
	for _, id := range ids {
		if !slices.Contains(listed, id) {
			t.Errorf("list through c lacks room %d (%d listed)", id, len(listed))
		}
	}
}

// Redis goes away for 10 s under a room with two clients on two nodes:
// they keep hearing each other all along; a create meanwhile answers an
// error within a few seconds; once Redis is back, rooms are placed again
// and the clients still hear each other.
func TestClusterRedisOutage(t *testing.T) {
	redis := redistest.New(t)
	nodes := startCluster(t, redis, "a", "b", "c")
	const roomID = 5555
	admin := attach(t, nodes[0].api, audioBridge)
	if d := admin.request(map[string]any{"request": "create", "room": roomID}); d["audiobridge"] != "created" {
		t.Fatalf("create: %v", d)
	}
	host := hostOf(t, redis, roomID)
	// One client on the host and one relayed through another node.
	var on, via *procNode
	for _, n := range nodes {
		switch {
		case n.id == host && on == nil:
			on = n
		case n.id != host && via == nil:
			via = n
		}
	}
	j1, p1 := joinMCURoom(t, on.api, roomID, "", "one", testpeer.Options{ToneHz: 440})
	j2, p2 := joinMCURoom(t, via.api, roomID, "", "two", testpeer.Options{ToneHz: 660})
	hearing := func() (float64, float64) {
		return p1.Level(660, 500*time.Millisecond), p2.Level(440, 500*time.Millisecond)
	}
	if !eventuallyTrue(10*time.Second, func() bool { l1, l2 := hearing(); return l1 >= 0.15 && l2 >= 0.15 }) {
		l1, l2 := hearing()
		t.Fatalf("before the outage: one hears two at %.3f, two hears one at %.3f", l1, l2)
	}

	// A create during the outage, through a node that is not the host,
	// on a connection of its own so that the clients are sampled
	// meanwhile.
	type answer struct {
		data map[string]any
		err  error
		took time.Duration
	}
	created := make(chan answer, 1)
	m1, m2 := p1.Mark(), p2.Mark()
	redis.Stop()
	stopped := time.Now()
	go func() {
		d, err := rawRequest(via.api, audioBridge, map[string]any{"request": "create", "room": roomID + 1})
		created <- answer{d, err, time.Since(stopped)}
	}()
	lowest1, lowest2 := 1.0, 1.0
	for time.Since(stopped) < 10*time.Second {
		time.Sleep(500 * time.Millisecond)
		l1, l2 := hearing()
		lowest1, lowest2 = min(lowest1, l1), min(lowest2, l2)
	}
	heard1, heard2 := len(p1.Since(m1)), len(p2.Since(m2))
	t.Logf("during the outage: one hears two at %.2f at worst, two hears one at %.2f; %.1f s and %.1f s of audio received",
		lowest1, lowest2, float64(heard1)/48000, float64(heard2)/48000)
	if lowest1 < 0.1 || lowest2 < 0.1 {
		t.Errorf("during the outage: one hears two at %.3f at worst, two hears one at %.3f", lowest1, lowest2)
	}
	if heard1 < 9*48000 || heard2 < 9*48000 {
		t.Errorf("during the 10 s outage: %.1f s and %.1f s of audio received", float64(heard1)/48000, float64(heard2)/48000)
	}
	// A new participant joins the running room through its host during
	// the outage, and hears the others.
	_, p3 := joinMCURoom(t, on.api, roomID, "", "three", testpeer.Options{ToneHz: 880})
	if !eventuallyTrue(10*time.Second, func() bool { return p3.Level(660, 500*time.Millisecond) >= 0.1 }) {
		t.Errorf("a join on the host during the outage hears two at %.3f", p3.Level(660, 500*time.Millisecond))
	}
	select {
	case a := <-created:
		if a.err != nil || a.data["audiobridge"] == "created" || num(a.data, "error_code") == 0 {
			t.Errorf("create during the outage: %v %v, want an error", a.data, a.err)
		}
		t.Logf("create during the outage answered %v after %v", a.data, a.took.Round(10*time.Millisecond))
		if a.took > 5*time.Second {
			t.Errorf("create during the outage answered after %v", a.took)
		}
	default:
		t.Fatalf("create during the outage not answered in 10 s")
	}

	redis.Start()
	back := time.Now()
	var d map[string]any
	for deadline := back.Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		d = admin.request(map[string]any{"request": "create", "room": roomID + 2})
		if d["audiobridge"] == "created" || time.Now().After(deadline) {
			break
		}
	}
	if d["audiobridge"] != "created" {
		t.Fatalf("create after Redis returned: %v", d)
	}
	if h := hostOf(t, redis, roomID+2); h == "" {
		t.Errorf("room created after the outage has no lease")
	}
	t.Logf("a room placed again %v after Redis returned", time.Since(back).Round(10*time.Millisecond))

	// The running room stays where it was, with its three clients; the
	// first two keep hearing each other and were told nothing.
	time.Sleep(3 * time.Second)
	if l1, l2 := hearing(); l1 < 0.15 || l2 < 0.15 {
		t.Errorf("after the outage: one hears two at %.3f, two hears one at %.3f", l1, l2)
	}
	if h := hostOf(t, redis, roomID); h != host {
		t.Errorf("after the outage the room is leased by %q, want %s", h, host)
	}
	for name, j := range map[string]*janusWS{"one": j1, "two": j2} {
		// The request reads what came before its answer into seen.
		if ps := participantIDs(j); ps["one"] == 0 || ps["two"] == 0 || ps["three"] == 0 || len(ps) != 3 {
			t.Errorf("after the outage the room lists %v through %s's node", ps, name)
		}
		for _, m := range j.seen {
			if m["janus"] == "hangup" || pluginData(m)["leaving"] != nil {
				t.Errorf("%s was told %v", name, m)
			}
		}
	}
}

// bestLevel is the highest Goertzel level of freq over the 1 s windows
// of pcm (48 kHz mono).
func bestLevel(pcm []int16, freq float64) float64 {
	var best float64
	for i := 0; i+48000 <= len(pcm); i += 24000 {
		best = max(best, codectest.Goertzel(pcm[i:i+48000], 48000, freq))
	}
	return best
}

// selectedRemotePort is the remote port of the peer's selected ICE pair.
func selectedRemotePort(t *testing.T, p *testpeer.Peer) int {
	t.Helper()
	pair, err := p.PC.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("no selected candidate pair: %v", err)
	}
	return int(pair.Remote.Port)
}

func num(m map[string]any, key string) uint64 {
	f, _ := m[key].(float64)
	return uint64(f)
}

// rawRequest makes a session on the node at addr, attaches plugin and
// sends body, returning the answer's plugin data (a goroutine's request:
// errors are returned, not fatal).
func rawRequest(addr, plugin string, body map[string]any) (map[string]any, error) {
	d := websocket.Dialer{Subprotocols: []string{"janus-protocol"}}
	c, _, err := d.Dial("ws://"+addr+"/janus", nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	call := func(req map[string]any) (map[string]any, error) {
		tx := fmt.Sprintf("r%d", time.Now().UnixNano())
		req["transaction"] = tx
		if err := c.WriteJSON(req); err != nil {
			return nil, err
		}
		for {
			var m map[string]any
			if err := c.ReadJSON(&m); err != nil {
				return nil, err
			}
			if m["transaction"] == tx && m["janus"] != "ack" {
				return m, nil
			}
		}
	}
	m, err := call(map[string]any{"janus": "create"})
	if err != nil {
		return nil, err
	}
	sid := id(m)
	if m, err = call(map[string]any{"janus": "attach", "session_id": sid, "plugin": plugin}); err != nil {
		return nil, err
	}
	hid := id(m)
	if m, err = call(map[string]any{"janus": "message", "session_id": sid, "handle_id": hid, "body": body}); err != nil {
		return nil, err
	}
	if d := pluginData(m); d != nil {
		return d, nil
	}
	return nil, fmt.Errorf("answer %v", m)
}

// A drained node (SIGTERM) takes no new rooms and waits for its rooms to
// empty, however long its shutdown timeout allows: the participant in
// its room keeps hearing the room, rooms created meanwhile land on the
// other node, and once the participant leaves the node exits.
func TestClusterDrainWaitsForRooms(t *testing.T) {
	redis := redistest.New(t)
	nodes := startClusterWith(t, redis, []string{"-shutdown-timeout", "30s"}, "a", "b")
	const roomID = 7777
	admin := attach(t, nodes[1].api, audioBridge)
	if d := admin.request(map[string]any{"request": "create", "room": roomID}); d["audiobridge"] != "created" {
		t.Fatalf("create: %v", d)
	}
	var host, other *procNode
	for _, n := range nodes {
		if n.id == hostOf(t, redis, roomID) {
			host = n
		} else {
			other = n
		}
	}
	j1, p1 := joinMCURoom(t, host.api, roomID, "", "one", testpeer.Options{ToneHz: 440})
	j2, p2 := joinMCURoom(t, other.api, roomID, "", "two", testpeer.Options{ToneHz: 660})
	if !eventuallyTrue(10*time.Second, func() bool { return p2.Level(440, 500*time.Millisecond) >= 0.15 }) {
		t.Fatalf("two hears one at %.3f before the drain", p2.Level(440, 500*time.Millisecond))
	}
	host.terminate()
	time.Sleep(2 * time.Second)
	if host.exited() {
		t.Fatalf("node %s exited with participants in its room:\n%s", host.id, host.tail())
	}
	if l := p2.Level(440, 500*time.Millisecond); l < 0.15 {
		t.Errorf("while %s drains, two hears one at %.3f", host.id, l)
	}
	for r := roomID + 1; r <= roomID+3; r++ {
		if d := admin.request(map[string]any{"request": "create", "room": r}); d["audiobridge"] != "created" {
			t.Fatalf("create during the drain: %v", d)
		}
		if h := hostOf(t, redis, uint64(r)); h != other.id {
			t.Errorf("room %d created during the drain landed on %q, want %s", r, h, other.id)
		}
	}
	// Both leave; the drained node then exits well before its timeout.
	for _, j := range []*janusWS{j1, j2} {
		j.call(map[string]any{"janus": "message", "session_id": j.sid, "handle_id": j.hid,
			"body": map[string]any{"request": "leave"}})
	}
	_ = p1.Close()
	_ = p2.Close()
	left := time.Now()
	if !eventuallyTrue(10*time.Second, host.exited) {
		t.Fatalf("node %s did not exit within 10 s of its room emptying", host.id)
	}
	t.Logf("the drained node exited %v after its room emptied", time.Since(left).Round(100*time.Millisecond))
}
