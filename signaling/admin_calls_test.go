package signaling

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/room"
)

// ringDialer places calls that ring at once, reporting through the room;
// URIs other than sip: are refused.
type ringDialer struct{}

func (ringDialer) Dial(_ context.Context, r *room.Room, uri string) (room.CallInfo, error) {
	if !strings.HasPrefix(uri, "sip:") {
		return room.CallInfo{}, fmt.Errorf("%w: %q is no sip: URI", room.ErrInvalidValue, uri)
	}
	info := room.CallInfo{ID: room.NewCallID(), URI: uri}
	r.NotifyCall(info, room.CallRinging, "")
	return info, nil
}

// SendDigits knows call 4242 of room 5 and takes keys 0-9 # * into it.
func (ringDialer) SendDigits(_ context.Context, r *room.Room, call room.CallID, keys string) error {
	switch {
	case call != 4242 || r.ID() != 5:
		return fmt.Errorf("%w: %d", room.ErrCallNotFound, call)
	case keys == "" || strings.Trim(keys, "0123456789*#") != "":
		return fmt.Errorf("%w: %q", room.ErrInvalidValue, keys)
	case keys == "0":
		return room.ErrCallNoDTMF
	}
	return nil
}

// dialerServers serves the admin API (key "k") of rooms with ringDialer
// and without a dialer, until the test ends.
func dialerServers(t *testing.T, rooms *room.Manager) (with, without *httptest.Server) {
	with = httptest.NewServer(NewRouter(ServerOptions{Admin: &Admin{Rooms: rooms, Key: "k", Dialer: ringDialer{}}}))
	t.Cleanup(with.Close)
	without = httptest.NewServer(NewRouter(ServerOptions{Admin: &Admin{Rooms: rooms, Key: "k"}}))
	t.Cleanup(without.Close)
	return with, without
}

// Hangup knows call 4242 of room 5.
func (ringDialer) Hangup(_ context.Context, r *room.Room, call room.CallID) error {
	if call != 4242 || r.ID() != 5 {
		return fmt.Errorf("%w: %d", room.ErrCallNotFound, call)
	}
	return nil
}

// The admin API hangs up a dial-out call: 204; 404 for an unknown call
// or room, 400 for a call that is not a number, 501 without a dialer,
// 401 without the key.
func TestAdminCallHangup(t *testing.T) {
	rooms := newTestRooms(t, room.Limits{}, 5)
	with, without := dialerServers(t, rooms)
	for _, tc := range []struct {
		srv       *httptest.Server
		path, key string
		want      int
	}{
		{with, "/admin/rooms/5/calls/4242", "k", 204},
		{with, "/admin/rooms/5/calls/4242", "", 401},
		{with, "/admin/rooms/5/calls/7", "k", 404},
		{with, "/admin/rooms/9/calls/4242", "k", 404},
		{with, "/admin/rooms/5/calls/x", "k", 400},
		{without, "/admin/rooms/5/calls/4242", "k", 501},
	} {
		code, m := adminDo(t, tc.srv, "DELETE", tc.path, "", tc.key)
		if code != tc.want || (code != 204 && m["error"] == "") {
			t.Errorf("DELETE %s (key %q): %d %v, want %d", tc.path, tc.key, code, m, tc.want)
		}
	}
}

// The admin API sends DTMF into a dial-out call: 204 once sent; 404 for
// an unknown call or room, 400 for bad keys or bodies, 409 for a callee
// without DTMF, 501 without a dialer, 401 without the key.
func TestAdminCallDTMF(t *testing.T) {
	rooms := newTestRooms(t, room.Limits{}, 5)
	with, without := dialerServers(t, rooms)
	for _, tc := range []struct {
		srv             *httptest.Server
		path, body, key string
		want            int
	}{
		{with, "/admin/rooms/5/calls/4242/dtmf", `{"digits":"1234#"}`, "k", 204},
		{with, "/admin/rooms/5/calls/4242/dtmf", `{"digits":"1234#"}`, "", 401},
		{with, "/admin/rooms/5/calls/7/dtmf", `{"digits":"1"}`, "k", 404},
		{with, "/admin/rooms/9/calls/4242/dtmf", `{"digits":"1"}`, "k", 404},
		{with, "/admin/rooms/5/calls/x/dtmf", `{"digits":"1"}`, "k", 400},
		{with, "/admin/rooms/5/calls/4242/dtmf", `{"digits":"12x"}`, "k", 400},
		{with, "/admin/rooms/5/calls/4242/dtmf", `{}`, "k", 400},
		{with, "/admin/rooms/5/calls/4242/dtmf", `{"digits":"0"}`, "k", 409},
		{without, "/admin/rooms/5/calls/4242/dtmf", `{"digits":"1"}`, "k", 501},
	} {
		code, _ := adminDo(t, tc.srv, "POST", tc.path, tc.body, tc.key)
		if code != tc.want {
			t.Errorf("%s %s (key %q): %d, want %d", tc.path, tc.body, tc.key, code, tc.want)
		}
	}
}

// The admin API dials out (201 and the call, whose ringing reaches the
// room's participants); bad bodies and URIs get 400, an unknown room
// 404, and the key is needed; without a dialer it is 501.
func TestAdminCalls(t *testing.T) {
	rooms := newTestRooms(t, room.Limits{})
	r5, err := rooms.Create(room.Config{ID: 5, Video: room.VideoConfig{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	sub := r5.Subscribe(16)
	defer sub.Close()
	with, without := dialerServers(t, rooms)
	do := func(srv *httptest.Server, path, body, key string) (int, map[string]any) {
		t.Helper()
		return adminDo(t, srv, "POST", path, body, key)
	}
	if code, _ := do(with, "/admin/rooms/5/calls", `{"uri":"sip:a@127.0.0.1"}`, ""); code != http.StatusUnauthorized {
		t.Errorf("without the key: %d", code)
	}
	for _, tc := range []struct {
		path, body string
		want       int
	}{
		{"/admin/rooms/5/calls", `{}`, 400},
		{"/admin/rooms/5/calls", `not json`, 400},
		{"/admin/rooms/5/calls", `{"uri":["sip:a@127.0.0.1"]}`, 400},
		{"/admin/rooms/5/calls", `{"uri":"tel:+1555"}`, 400},
		{"/admin/rooms/9/calls", `{"uri":"sip:a@127.0.0.1"}`, 404},
	} {
		if code, m := do(with, tc.path, tc.body, "k"); code != tc.want || m["error"] == "" {
			t.Errorf("%s %s: %d %v, want %d with an error", tc.path, tc.body, code, m, tc.want)
		}
	}
	if code, m := do(without, "/admin/rooms/5/calls", `{"uri":"sip:a@127.0.0.1"}`, "k"); code != http.StatusNotImplemented || m["error"] == "" {
		t.Errorf("without a dialer: %d %v, want 501", code, m)
	}
	code, m := do(with, "/admin/rooms/5/calls", `{"uri":"sip:a@127.0.0.1"}`, "k")
	if code != http.StatusCreated || m["uri"] != "sip:a@127.0.0.1" || m["id"] == nil {
		t.Fatalf("dial: %d %v", code, m)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-sub.C:
			if e.Kind == room.EventCall && e.State == room.CallRinging && float64(e.Call.ID) == m["id"] {
				return
			}
		case <-deadline:
			t.Fatal("the room heard nothing of the call")
		}
	}
}
