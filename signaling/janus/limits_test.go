package janus

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/rtc"
)

// stunWatch is a set of loopback UDP sockets that note whether anything
// (the server's ICE connectivity checks) reached them.
type stunWatch struct {
	conns []*net.UDPConn
	hit   []atomic.Bool
}

func newSTUNWatch(t *testing.T, n int) *stunWatch {
	t.Helper()
	w := &stunWatch{hit: make([]atomic.Bool, n)}
	for i := range n {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		w.conns = append(w.conns, conn)
		go func() {
			buf := make([]byte, 1500)
			for {
				if _, _, err := conn.ReadFromUDP(buf); err != nil {
					return
				}
				w.hit[i].Store(true)
			}
		}()
	}
	return w
}

func (w *stunWatch) port(i int) int { return w.conns[i].LocalAddr().(*net.UDPAddr).Port }

func (w *stunWatch) hits(from, to int) int {
	n := 0
	for i := from; i < to; i++ {
		if w.hit[i].Load() {
			n++
		}
	}
	return n
}

func hostCandidate(n int, ip string, port int) M {
	return M{"candidate": fmt.Sprintf("candidate:%d 1 udp 2130706431 %s %d typ host", n, ip, port), "sdpMLineIndex": 0}
}

// A hostile client's trickle of 5,000 candidates is refused at once with
// Janus's 467 (nothing of it reaches the ICE agent), later candidates are
// taken only up to rtc.MaxRemoteCandidates (the server's connectivity
// checks reach those and no others), and the handle is not held up: when
// the socket closes, the participant is gone well within a second.
func TestTrickleFloodRefused(t *testing.T) {
	// 5,000 candidates make a message larger than the default WebSocket
	// message limit, which would close the socket first: the candidate
	// cap is tested here on its own.
	s := newServer(t, Options{WSMaxMessage: 4 << 20})
	c := dialWS(t, s)
	c.send(M{"janus": "create", "transaction": "c"})
	sid := num(c.tx("c"), "data", "id")
	c.send(M{"janus": "attach", "session_id": sid, "plugin": audioBridgePkg, "transaction": "a"})
	hid := num(c.tx("a"), "data", "id")
	c.send(M{"janus": "message", "session_id": sid, "handle_id": hid, "transaction": "j", "body": M{"request": "join", "room": 1234}})
	if d := pluginData(c.tx("j")); d["audiobridge"] != "joined" {
		t.Fatalf("join: %v", d)
	}
	peer, err := testpeer.New(testpeer.Options{Silent: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = peer.Close() })
	offer, own, err := peer.OfferTrickle()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range own { // the peer's own candidates are not sent
		}
	}()
	c.send(M{"janus": "message", "session_id": sid, "handle_id": hid, "transaction": "cfg",
		"body": M{"request": "configure"}, "jsep": M{"type": "offer", "sdp": offer}})
	if d := pluginData(c.tx("cfg")); d["result"] != "ok" {
		t.Fatalf("configure: %v", d)
	}

	extra := 10
	watch := newSTUNWatch(t, rtc.MaxRemoteCandidates+extra)
	flood := make([]M, 5000)
	for i := range flood {
		if i < len(watch.conns) {
			flood[i] = hostCandidate(i, "127.0.0.1", watch.port(i))
		} else {
			// TEST-NET-1 (RFC 5737): nothing there to bother.
			flood[i] = hostCandidate(i, fmt.Sprintf("192.0.2.%d", 1+i%250), 20000+i)
		}
	}
	start := time.Now()
	c.send(M{"janus": "trickle", "session_id": sid, "handle_id": hid, "transaction": "flood", "candidates": flood})
	got := c.wait("reply to flood", func(m M) bool { return m["transaction"] == "flood" })
	if took := time.Since(start); errCode(got) != CodeInvalidElementType || took > 2*time.Second {
		t.Fatalf("trickle of 5000 candidates: %v after %v, want error %d at once", got, took, CodeInvalidElementType)
	}

	// One at a time, as browsers trickle: the first MaxRemoteCandidates
	// are taken, the rest refused.
	for i := range len(watch.conns) {
		tx := fmt.Sprintf("t%d", i)
		c.send(M{"janus": "trickle", "session_id": sid, "handle_id": hid, "transaction": tx, "candidate": hostCandidate(i, "127.0.0.1", watch.port(i))})
		reply := c.wait("reply to "+tx, func(m M) bool { return m["transaction"] == tx })
		if want := i < rtc.MaxRemoteCandidates; (reply["janus"] == "ack") != want || (!want && errCode(reply) != CodeInvalidElementType) {
			t.Fatalf("trickle %d: %v", i, reply)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for watch.hits(0, rtc.MaxRemoteCandidates) < rtc.MaxRemoteCandidates && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := watch.hits(0, rtc.MaxRemoteCandidates); n < rtc.MaxRemoteCandidates {
		t.Fatalf("connectivity checks reached %d of the %d candidates taken", n, rtc.MaxRemoteCandidates)
	}
	if n := watch.hits(rtc.MaxRemoteCandidates, len(watch.conns)); n > 0 {
		t.Fatalf("connectivity checks reached %d refused candidates", n)
	}

	r, _ := s.rooms.Get(1234)
	c.conn.Close()
	closed := time.Now()
	for {
		ps, err := r.Participants(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 0 {
			break
		}
		if time.Since(closed) > time.Second {
			t.Fatalf("participant still in the room %v after its socket closed", time.Since(closed))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("participant gone %v after the socket closed", time.Since(closed))
}

// addRooms creates n audio-only rooms numbered from first: every third one
// has a pin.
func addRooms(tb testing.TB, rooms *room.Manager, first, n int) {
	tb.Helper()
	for i := range n {
		cfg := room.Config{ID: room.RoomID(first + i), Description: fmt.Sprintf("room %d", first+i), Video: room.VideoConfig{Disabled: true}}
		if i%3 == 0 {
			cfg.Pin = "1234"
		}
		if _, err := rooms.Create(cfg); err != nil {
			tb.Fatal(err)
		}
	}
}

// A list of a thousand rooms is complete, right, and quick: it asks no
// room's goroutine (each of which answers on its next tick).
func TestListThousandRooms(t *testing.T) {
	s := newServer(t, Options{})
	const first, n = 100000, 1000
	addRooms(t, s.rooms, first, n)
	busy, _ := s.rooms.Get(first + 1)
	if _, _, err := busy.Join(context.Background(), room.JoinRequest{Display: "one"}); err != nil {
		t.Fatal(err)
	}
	if err := busy.SetRoomMuted(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	sid := num(s.post(t, "/janus", `{"janus":"create","transaction":"c"}`), "data", "id")
	hp := fmt.Sprintf("/janus/%d/%d", sid, num(s.post(t, fmt.Sprintf("/janus/%d", sid), `{"janus":"attach","plugin":"janus.plugin.audiobridge","transaction":"a"}`), "data", "id"))
	if d := pluginData(s.post(t, hp, `{"janus":"message","transaction":"p","body":{"request":"create","room":99,"is_private":true}}`)); d["audiobridge"] != "created" {
		t.Fatalf("private room: %v", d)
	}

	start := time.Now()
	reply := s.post(t, hp, `{"janus":"message","transaction":"l","body":{"request":"list"}}`)
	took := time.Since(start)
	list, _ := pluginData(reply)["list"].([]any)
	byID := map[uint64]map[string]any{}
	for _, e := range list {
		m := e.(map[string]any)
		byID[num(m, "room")] = m
	}
	if len(list) != n+1 || len(byID) != n+1 || byID[1234] == nil || byID[99] != nil {
		t.Fatalf("list has %d entries (%d rooms) after %v, want the %d public rooms", len(list), len(byID), took, n+1)
	}
	for i := range n {
		e := byID[uint64(first+i)]
		if e == nil || e["description"] != fmt.Sprintf("room %d", first+i) || e["pin_required"] != (i%3 == 0) {
			t.Fatalf("room %d: %v", first+i, e)
		}
	}
	want := map[string]any{"room": float64(first + 1), "description": fmt.Sprintf("room %d", first+1), "pin_required": false,
		"sampling_rate": float64(48000), "spatial_audio": false, "record": false, "muted": true, "num_participants": float64(1), "streams": float64(0)}
	if got := byID[first+1]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("busy room: %v, want %v", got, want)
	}
	if took > 2*time.Second {
		t.Fatalf("list of %d rooms took %v", n+1, took)
	}
	t.Logf("list of %d rooms in %v", len(list), took)

	// The video MCU plugin lists the same rooms.
	mcu := NewVideoMCU(s.rooms, s.webrtc, quietLog(), s.gw.plugins[audioBridgePkg].(*RoomPlugin))
	if l, _ := mcu.list()["list"].([]M); len(l) != n+1 {
		t.Fatalf("video MCU list: %d rooms, want %d", len(l), n+1)
	}
}

// BenchmarkList1000 is AudioBridge's list of a thousand rooms, encoded as
// it goes to the client.
func BenchmarkList1000(b *testing.B) {
	rooms, err := room.NewManager(room.ManagerConfig{Workers: 1, Logger: quietLog()})
	if err != nil {
		b.Fatal(err)
	}
	defer rooms.Close(context.Background())
	addRooms(b, rooms, 1, 1000)
	ab := NewAudioBridge(rooms, nil, quietLog())
	for b.Loop() {
		if _, err := json.Marshal(ab.list()); err != nil {
			b.Fatal(err)
		}
	}
}
