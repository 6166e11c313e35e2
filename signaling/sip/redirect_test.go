package sip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tessera-mcu/tessera/internal/redistest"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/cluster"
)

// storeLocator locates rooms through the cluster's store, as node self.
type storeLocator struct {
	s    *cluster.Store
	self cluster.NodeID
}

func (l storeLocator) Locate(ctx context.Context, id room.RoomID) (string, bool, error) {
	n, err := l.s.Locate(ctx, cluster.RoomID(id))
	if errors.Is(err, cluster.ErrNoRoom) {
		return "", false, fmt.Errorf("%w: %v", room.ErrRoomNotFound, err)
	}
	if err != nil {
		return "", false, err
	}
	return n.SIPAddr, n.ID != l.self, nil
}

// invite sends an INVITE for user to the server and returns the final
// response (after ACKing and hanging up a 200).
func (p *phone) invite(t *testing.T, h *harness, user string) *sip.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	to := sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: h.udp.Port}
	d, err := p.dialog.Invite(ctx, to, []byte(phoneOffer), sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	err = d.WaitAnswer(ctx, sipgo.AnswerOptions{})
	var re *sipgo.ErrDialogResponse
	if errors.As(err, &re) {
		return re.Res
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	_ = d.Bye(ctx)
	return d.InviteResponse
}

// In a cluster (two nodes registered in a real Redis, this server being
// node a): an INVITE for a room hosted on node b is redirected there with
// 302 and a Contact that keeps the dialled room and PIN; a room stored
// but hosted nowhere is placed, on b (302) or on a, where it is not open
// (404); a room unknown everywhere is 404; the room open here is
// answered as always, even while Redis is away, when a room elsewhere
// gets 503.
func TestServerRedirectsToHost(t *testing.T) {
	srv := redistest.New(t)
	store, err := cluster.Open(cluster.Config{Addr: srv.Addr(), Prefix: "sip-test:", OpTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	a, err := store.Join(ctx, cluster.NodeInfo{ID: "a", SIPAddr: "127.0.0.1:5060"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := store.Join(ctx, cluster.NodeInfo{ID: "b", SIPAddr: "127.0.0.2:5070"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h := newHarness(t, Config{Locator: storeLocator{s: store, self: "a"}}, room.Config{})

	if _, err := b.Claim(ctx, 555); err != nil {
		t.Fatal(err)
	}
	for _, id := range []cluster.RoomID{556, 557} {
		if err := store.CreateRoom(ctx, id, json.RawMessage(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.SetLoad(ctx, cluster.Load{Rooms: 10}); err != nil {
		t.Fatal(err)
	}

	p := newPhone(t)
	redirected := func(user, wantContact string) {
		t.Helper()
		res := p.invite(t, h, user)
		if res.StatusCode != 302 {
			t.Fatalf("INVITE %s: %d %s, want 302", user, res.StatusCode, res.Reason)
		}
		c := res.Contact()
		if c == nil || c.Address.String() != wantContact {
			t.Fatalf("INVITE %s: Contact %v, want %s", user, c, wantContact)
		}
	}
	status := func(user string, want int) {
		t.Helper()
		if res := p.invite(t, h, user); res.StatusCode != want {
			t.Fatalf("INVITE %s: %d %s, want %d", user, res.StatusCode, res.Reason, want)
		}
	}
	redirected("555*4321", "sip:555*4321@127.0.0.2:5070")
	redirected("556", "sip:556@127.0.0.2:5070") // placed on b, the less loaded
	if host, _, _ := store.Host(ctx, 556); host != "b" {
		t.Fatalf("room 556 hosted by %q, want b", host)
	}
	if err := b.SetDraining(ctx, true); err != nil {
		t.Fatal(err)
	}
	status("557", 404) // placed here (b drains), not open here
	if host, _, _ := store.Host(ctx, 557); host != "a" {
		t.Fatalf("room 557 hosted by %q, want a", host)
	}
	status("999", 404)
	status(testRoom.String(), 200)
	if !waitFor(2*time.Second, func() bool { st := h.srv.Stats(); return st.Redirected == 2 && st.Answered == 1 }) {
		t.Fatalf("stats %+v, want 2 redirected and 1 answered", h.srv.Stats())
	}

	srv.Stop()
	status("555", 503)
	status(testRoom.String(), 200)
	srv.Start()
	redirected("555", "sip:555@127.0.0.2:5070")
}
