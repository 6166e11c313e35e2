package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tessera-mcu/tessera/internal/inbox"
	"github.com/tessera-mcu/tessera/internal/redistest"
	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room"
	rc "github.com/tessera-mcu/tessera/room/cluster"
	"github.com/tessera-mcu/tessera/room/rtc"
	"github.com/tessera-mcu/tessera/signaling/janus"
)

type M = map[string]any

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// node is one Tessera node of the test: a room manager, a media engine,
// a gateway with the wrapped room plugins served over WebSocket, and its
// part in the cluster, on a store of its own.
type node struct {
	id     rc.NodeID
	store  *rc.Store
	webrtc *rtc.Engine
	rooms  *room.Manager
	cl     *Cluster
	gw     *janus.Gateway
	http   *httptest.Server
	dead   atomic.Bool
}

func newNode(t *testing.T, redis *redistest.Server, id rc.NodeID) *node {
	t.Helper()
	store, err := rc.Open(rc.Config{Addr: redis.Addr(), HeartbeatTTL: time.Second, HeartbeatEvery: 250 * time.Millisecond,
		LeaseTTL: 1500 * time.Millisecond, RenewEvery: 400 * time.Millisecond, RequestTimeout: 3 * time.Second, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	webrtc, err := rtc.NewEngine(rtc.EngineConfig{BindIP: "127.0.0.1", DisableTCP: true, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	rooms, err := room.NewManager(room.ManagerConfig{Workers: 1, DisablePinning: true, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := Join(context.Background(), Options{Store: store, Rooms: rooms, WatchEvery: 200 * time.Millisecond,
		RequestTimeout: 3 * time.Second, Logger: quietLog(),
		Node: rc.NodeInfo{ID: id, MediaAddr: fmt.Sprintf("127.0.0.1:%d", webrtc.Port())}})
	if err != nil {
		t.Fatal(err)
	}
	gw := janus.NewGateway(janus.Options{Logger: quietLog()})
	ab := janus.NewAudioBridge(cl.Rooms(), webrtc, quietLog())
	gw.Register(cl.Wrap(ab))
	gw.Register(cl.Wrap(janus.NewVideoMCU(cl.Rooms(), webrtc, quietLog(), ab)))
	n := &node{id: id, store: store, webrtc: webrtc, rooms: rooms, cl: cl, gw: gw, http: httptest.NewServer(gw.WSHandler())}
	t.Cleanup(func() { n.stop(false) })
	return n
}

// stop ends the node: in order when graceful, else as a kill -9 would
// leave the cluster — Redis is not told (the heartbeat and the leases
// lapse by themselves) and the media port closes.
func (n *node) stop(graceful bool) {
	if n.dead.Swap(true) {
		return
	}
	if !graceful {
		_ = n.store.Close()
	}
	n.http.Close()
	n.gw.Close()
	_ = n.cl.Close()
	_ = n.rooms.Close(context.Background())
	_ = n.webrtc.Close()
	if graceful {
		_ = n.store.Close()
	}
}

// client is a Janus client on one node's WebSocket, with one session and
// one handle.
type client struct {
	t        *testing.T
	conn     *websocket.Conn
	in       *inbox.Inbox[M]
	sid, hid uint64
	plugin   string
	key      string
	txn      int
}

func dial(t *testing.T, n *node, plugin string) *client {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{janus.Subprotocol}}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(n.http.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs := make(chan M, 1024)
	c := &client{t: t, conn: conn, in: inbox.New[M](msgs), plugin: plugin, key: pluginKey(plugin)}
	go func() {
		defer close(msgs)
		for {
			var m M
			if err := conn.ReadJSON(&m); err != nil {
				return
			}
			msgs <- m
		}
	}()
	t.Cleanup(func() { conn.Close() })
	c.send(M{"janus": "create", "transaction": "c"})
	c.sid = num(c.tx("c"), "data", "id")
	c.send(M{"janus": "attach", "session_id": c.sid, "plugin": plugin, "transaction": "a"})
	c.hid = num(c.tx("a"), "data", "id")
	if c.hid == 0 {
		t.Fatal("attach failed")
	}
	return c
}

func (c *client) send(v M) {
	c.t.Helper()
	if err := c.conn.WriteJSON(v); err != nil {
		c.t.Fatal(err)
	}
}

// wait returns the first message, received or to come, matching f;
// others are kept for later waits.
func (c *client) wait(what string, d time.Duration, f func(M) bool) M {
	c.t.Helper()
	m, err := c.in.Wait(d, f)
	if err != nil {
		c.t.Fatalf("waiting for %s: %v", what, err)
	}
	return m
}

func (c *client) tx(tx string) M {
	c.t.Helper()
	return c.wait("reply to "+tx, 10*time.Second, func(m M) bool { return m["transaction"] == tx && m["janus"] != "ack" })
}

// request sends a plugin message (with an offer when sdp is set) and
// returns the answering message.
func (c *client) request(body M, sdp string) M {
	c.t.Helper()
	c.txn++
	tx := fmt.Sprintf("r%d", c.txn)
	m := M{"janus": "message", "session_id": c.sid, "handle_id": c.hid, "transaction": tx, "body": body}
	if sdp != "" {
		m["jsep"] = M{"type": "offer", "sdp": sdp}
	}
	c.send(m)
	return c.tx(tx)
}

func num(m M, path ...string) uint64 {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return 0
		}
		v = mm[k]
	}
	f, _ := v.(float64)
	return uint64(f)
}

func data(m M) M {
	pd, _ := m["plugindata"].(map[string]any)
	d, _ := pd["data"].(map[string]any)
	return d
}

// member is a participant with a real pion peer, joined through a node.
type member struct {
	c    *client
	peer *testpeer.Peer
	id   uint64
}

// join joins room with an offer in the join itself and waits for the
// media to be up.
func join(t *testing.T, c *client, roomID uint64, pin, display string, tone float64) *member {
	t.Helper()
	peer, err := testpeer.New(testpeer.Options{ToneHz: tone})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = peer.Close() })
	offer, err := peer.Offer()
	if err != nil {
		t.Fatal(err)
	}
	rep := c.request(M{"request": "join", "room": roomID, "pin": pin, "display": display}, offer)
	d := data(rep)
	jsep, _ := rep["jsep"].(map[string]any)
	if d[c.key] != "joined" || jsep == nil {
		t.Fatalf("join of %s: %v", display, rep)
	}
	if err := peer.Accept(jsep["sdp"].(string)); err != nil {
		t.Fatal(err)
	}
	c.wait("webrtcup of "+display, 10*time.Second, func(m M) bool { return m["janus"] == "webrtcup" })
	return &member{c: c, peer: peer, id: num(d, "id")}
}

// remotePort is the port of the server end of the peer's selected ICE
// candidate pair.
func remotePort(t *testing.T, p *testpeer.Peer) int {
	t.Helper()
	pair, err := p.PC.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("no selected candidate pair: %v", err)
	}
	return int(pair.Remote.Port)
}

func participantIDs(t *testing.T, c *client, roomID uint64) []uint64 {
	t.Helper()
	d := data(c.request(M{"request": "listparticipants", "room": roomID}, ""))
	list, ok := d["participants"].([]any)
	if !ok {
		t.Fatalf("listparticipants through %d: %v", c.sid, d)
	}
	var ids []uint64
	for _, p := range list {
		ids = append(ids, num(p.(map[string]any), "id"))
	}
	slices.Sort(ids)
	return ids
}

func listed(d M) []uint64 {
	list, _ := d["list"].([]any)
	var ids []uint64
	for _, r := range list {
		ids = append(ids, num(r.(map[string]any), "room"))
	}
	return ids
}

// TestRelayedRoomOnAnotherNode: three nodes on one Redis. Clients
// connected to A and C join a room hosted on B: their media goes to B,
// they hear each other, every node answers about the room alike. Then B
// dies: A's and C's clients are told, and the room comes back on a live
// node with its secret and PIN.
func TestRelayedRoomOnAnotherNode(t *testing.T) {
	redis := redistest.New(t)
	a, b, c := newNode(t, redis, "a"), newNode(t, redis, "b"), newNode(t, redis, "c")
	// Load on A and C: placement picks B.
	busy := rc.Load{Participants: 50}
	for _, n := range []*node{a, c} {
		if err := n.cl.Node().SetLoad(context.Background(), busy); err != nil {
			t.Fatal(err)
		}
	}
	const ab = "janus.plugin.audiobridge"
	const roomID = 4321

	// (b) Rooms created through one node exist and are listed on all.
	admin := map[*node]*client{a: dial(t, a, ab), b: dial(t, b, ab), c: dial(t, c, ab)}
	created := data(admin[a].request(M{"request": "create", "room": roomID, "description": "relayed",
		"secret": "s3cret", "pin": "1234"}, ""))
	if created["audiobridge"] != "created" {
		t.Fatalf("create through A: %v", created)
	}
	if host, _, _ := a.store.Host(context.Background(), roomID); host != "b" {
		t.Fatalf("room %d hosted on %q, want b", roomID, host)
	}
	again := data(admin[c].request(M{"request": "create", "room": roomID}, ""))
	if num(again, "error_code") != 486 {
		t.Fatalf("second create through C: %v, want 486", again)
	}
	other := data(admin[c].request(M{"request": "create", "description": "picked"}, ""))
	otherID := num(other, "room")
	if other["audiobridge"] != "created" || otherID == 0 {
		t.Fatalf("create without a room through C: %v", other)
	}
	for n, cl := range admin {
		for _, id := range []uint64{roomID, otherID} {
			if d := data(cl.request(M{"request": "exists", "room": id}, "")); d["exists"] != true {
				t.Fatalf("exists %d through %s: %v", id, n.id, d)
			}
		}
		if d := data(cl.request(M{"request": "exists", "room": 999}, "")); d["exists"] != false {
			t.Fatalf("exists 999 through %s: %v", n.id, d)
		}
		if got := listed(data(cl.request(M{"request": "list"}, ""))); !slices.Contains(got, roomID) || !slices.Contains(got, otherID) {
			t.Fatalf("list through %s: %v, want %d and %d", n.id, got, roomID, otherID)
		}
	}

	// (a) A client of A and one of C join the room hosted on B.
	ca, cc := dial(t, a, ab), dial(t, c, ab)
	if d := data(ca.request(M{"request": "join", "room": roomID, "pin": "wrong"}, "")); num(d, "error_code") != 489 {
		t.Fatalf("join with a wrong PIN through A: %v, want 489", d)
	}
	ma := join(t, ca, roomID, "1234", "alice", 440)
	mc := join(t, cc, roomID, "1234", "carol", 660)
	ca.wait("carol joined", 5*time.Second, func(m M) bool {
		d := data(m)
		ps, _ := d["participants"].([]any)
		return d["audiobridge"] == "joined" && len(ps) == 1 && num(ps[0].(map[string]any), "id") == mc.id
	})
	heard := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !heard; time.Sleep(100 * time.Millisecond) {
		heard = ma.peer.Level(660, time.Second) > 0.15 && mc.peer.Level(440, time.Second) > 0.15
	}
	if !heard {
		t.Fatalf("alice hears carol at %.3f, carol hears alice at %.3f", ma.peer.Level(660, time.Second), mc.peer.Level(440, time.Second))
	}
	for name, m := range map[string]*member{"alice (A)": ma, "carol (C)": mc} {
		if p := remotePort(t, m.peer); p != b.webrtc.Port() {
			t.Errorf("%s's media goes to port %d, want B's %d (A %d, C %d)", name, p, b.webrtc.Port(), a.webrtc.Port(), c.webrtc.Port())
		}
	}
	want := []uint64{ma.id, mc.id}
	slices.Sort(want)
	for n, cl := range admin {
		if got := participantIDs(t, cl, roomID); !slices.Equal(got, want) {
			t.Errorf("participants through %s: %v, want %v", n.id, got, want)
		}
	}

	// (c) B dies. Within the lease time the clients on A and C hear that
	// their room went away.
	t.Logf("room on B: alice (A) and carol (C) hear each other at %.2f and %.2f", ma.peer.Level(660, time.Second), mc.peer.Level(440, time.Second))
	killed := time.Now()
	b.stop(false)
	for name, m := range map[string]*member{"alice (A)": ma, "carol (C)": mc} {
		m.c.wait(name+"'s hangup", 5*time.Second, func(e M) bool { return e["janus"] == "hangup" })
		m.c.wait(name+" leaving", 5*time.Second, func(e M) bool { return num(data(e), "leaving") == m.id })
	}
	t.Logf("clients told %v after B died", time.Since(killed))
	if took := time.Since(killed); took > 3*time.Second {
		t.Errorf("clients told %v after the host died", took)
	}

	// A new join through A places the room again on A or C, with its PIN
	// and secret.
	var d M
	for deadline := time.Now().Add(8 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		d = data(ca.request(M{"request": "join", "room": roomID, "pin": "wrong"}, ""))
		if num(d, "error_code") != 499 || time.Now().After(deadline) {
			break
		}
	}
	if num(d, "error_code") != 489 {
		t.Fatalf("join with a wrong PIN after B died: %v, want 489", d)
	}
	host, _, _ := a.store.Host(context.Background(), roomID)
	if host != "a" && host != "c" {
		t.Fatalf("room placed again on %q, want a or c", host)
	}
	t.Logf("room placed again on %s %v after B died", host, time.Since(killed))
	back := join(t, ca, roomID, "1234", "alice again", 440)
	if back.id == 0 {
		t.Fatal("no participant ID")
	}
	if d := data(admin[c].request(M{"request": "edit", "room": roomID, "secret": "wrong", "new_description": "x"}, "")); num(d, "error_code") != 489 {
		t.Fatalf("edit with a wrong secret: %v, want 489", d)
	}
	if d := data(admin[c].request(M{"request": "edit", "room": roomID, "secret": "s3cret", "new_description": "edited"}, "")); d["audiobridge"] != "edited" {
		t.Fatalf("edit with the secret: %v", d)
	}
	raw, err := a.store.LoadRoom(context.Background(), roomID)
	if err != nil {
		t.Fatal(err)
	}
	var doc storedRoom
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Config.Description != "edited" || doc.Config.Pin != "1234" {
		t.Fatalf("stored configuration after the edit: %s (%v)", raw, err)
	}
	if got := participantIDs(t, admin[c], roomID); !slices.Equal(got, []uint64{back.id}) {
		t.Errorf("participants after the room came back: %v, want [%d]", got, back.id)
	}
}
