package janus

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tessera-mcu/tessera/room"
)

// progressDialer places calls that ring and are answered at once,
// reporting through the room as a SIP dialer does; it refuses URIs that
// are not sip:.
type progressDialer struct{}

func (progressDialer) Dial(_ context.Context, r *room.Room, uri string) (room.CallInfo, error) {
	if !strings.HasPrefix(uri, "sip:") {
		return room.CallInfo{}, fmt.Errorf("%w: %q is no sip: URI", room.ErrInvalidValue, uri)
	}
	info := room.CallInfo{ID: room.NewCallID(), URI: uri}
	r.NotifyCall(info, room.CallRinging, "")
	info.Participant = 77
	r.NotifyCall(info, room.CallAnswered, "")
	return room.CallInfo{ID: info.ID, URI: uri}, nil
}

// SendDigits knows one call, 4242 of room 1234, and takes keys 0-9 # *
// into it.
func (progressDialer) SendDigits(_ context.Context, r *room.Room, call room.CallID, keys string) error {
	switch {
	case call != 4242 || r.ID() != 1234:
		return fmt.Errorf("%w: %d", room.ErrCallNotFound, call)
	case keys == "" || strings.Trim(keys, "0123456789*#") != "":
		return fmt.Errorf("%w: %q", room.ErrInvalidValue, keys)
	case keys == "0":
		return room.ErrCallNoDTMF
	}
	return nil
}

// Hangup ends the calls of room 1234 it placed, as a SIP dialer does:
// the hung-up event follows; any other call is not found.
func (progressDialer) Hangup(_ context.Context, r *room.Room, call room.CallID) error {
	if r.ID() != 1234 || call == 4242 || call == 7 {
		return fmt.Errorf("%w: %d", room.ErrCallNotFound, call)
	}
	r.NotifyCall(room.CallInfo{ID: call, Participant: 77}, room.CallHungUp, "hung up by the room")
	return nil
}

// The dial request, on both plugins: it needs the room's secret and a
// uri, calls through the Dialer, and everyone in the room hears the
// call's progress; without a dialer it says dialing out is not available.
func TestDialRequest(t *testing.T) {
	s := newServer(t, Options{})
	bridge := NewAudioBridge(s.rooms, s.webrtc, quietLog())
	mcu := NewVideoMCU(s.rooms, s.webrtc, quietLog(), bridge)
	mcu.SetDialer(progressDialer{})
	s.gw.Register(bridge)
	s.gw.Register(mcu)

	// A participant of room 1234, on the AudioBridge, to hear the events.
	member := dialWS(t, s)
	member.send(M{"janus": "create", "transaction": "c"})
	msid := num(member.tx("c"), "data", "id")
	member.send(M{"janus": "attach", "session_id": msid, "plugin": audioBridgePkg, "transaction": "a"})
	mhid := num(member.tx("a"), "data", "id")
	member.send(M{"janus": "message", "session_id": msid, "handle_id": mhid, "transaction": "j",
		"body": M{"request": "join", "room": 1234, "display": "member"}})
	member.wait("joined", func(m M) bool { return pluginData(m)["audiobridge"] == "joined" })

	c := dialWS(t, s)
	c.send(M{"janus": "create", "transaction": "c"})
	sid := num(c.tx("c"), "data", "id")
	handle := func(pkg string) func(M) M {
		tx := "a" + pkg
		c.send(M{"janus": "attach", "session_id": sid, "plugin": pkg, "transaction": tx})
		hid := num(c.tx(tx), "data", "id")
		n := 0
		return func(body M) M {
			n++
			tx := fmt.Sprint(pkg, n)
			c.send(M{"janus": "message", "session_id": sid, "handle_id": hid, "transaction": tx, "body": body})
			return pluginData(c.tx(tx))
		}
	}
	onMCU, onBridge := handle(videoMCUPkg), handle(audioBridgePkg)

	for _, tc := range []struct {
		body M
		code uint64
	}{
		{M{"request": "dial", "room": 1234, "uri": "sip:alice@127.0.0.1"}, abUnauthorized},
		{M{"request": "dial", "room": 1234, "secret": "adminpwd"}, abMissingElement},
		{M{"request": "dial", "room": 1234, "secret": "adminpwd", "uri": "tel:123"}, abInvalidElement},
		{M{"request": "dial", "room": 99, "secret": "adminpwd", "uri": "sip:alice@127.0.0.1"}, abNoSuchRoom},
	} {
		if d := onMCU(tc.body); num(d, "error_code") != tc.code {
			t.Errorf("%v: %v, want error %d", tc.body, d, tc.code)
		}
	}
	d := onMCU(M{"request": "dial", "room": 1234, "secret": "adminpwd", "uri": "sip:alice@127.0.0.1"})
	id := num(d, "call", "id")
	if d["mcu"] != "success" || id == 0 || num(d, "room") != 1234 {
		t.Fatalf("dial: %v", d)
	}
	for _, state := range []string{"ringing", "answered"} {
		member.wait(state+" event", func(m M) bool {
			pd := pluginData(m)
			return pd["dial"] == state && num(pd, "call", "id") == id && pd["room"] == 1234.0
		})
	}
	// dtmf: a known call takes keys; an unknown call, keys that are not
	// keys, missing elements, a missing secret and a callee without
	// DTMF get their error codes.
	if d := onMCU(M{"request": "dtmf", "room": 1234, "secret": "adminpwd", "call": 4242, "digits": "1234#"}); d["mcu"] != "success" ||
		d["digits"] != "1234#" || num(d, "call") != 4242 {
		t.Errorf("dtmf: %v", d)
	}
	for _, tc := range []struct {
		body M
		code uint64
	}{
		{M{"request": "dtmf", "room": 1234, "call": 4242, "digits": "1"}, abUnauthorized},
		{M{"request": "dtmf", "room": 1234, "secret": "adminpwd", "call": 7, "digits": "1"}, abNoSuchUser},
		{M{"request": "dtmf", "room": 1234, "secret": "adminpwd", "call": 4242, "digits": "12x"}, abInvalidElement},
		{M{"request": "dtmf", "room": 1234, "secret": "adminpwd", "call": 4242, "digits": "0"}, abInvalidRequest},
		{M{"request": "dtmf", "room": 1234, "secret": "adminpwd", "digits": "1"}, abMissingElement},
		{M{"request": "dtmf", "room": 1234, "secret": "adminpwd", "call": 4242}, abMissingElement},
		{M{"request": "dtmf", "room": 1234, "secret": "adminpwd", "call": "x", "digits": "1"}, abInvalidElement},
	} {
		if d := onMCU(tc.body); num(d, "error_code") != tc.code {
			t.Errorf("%v: %v, want error %d", tc.body, d, tc.code)
		}
	}
	// hangup: the call ends with a hungup event to everyone; a missing
	// secret or call, an unknown call get their error codes.
	if d := onMCU(M{"request": "hangup_call", "room": 1234, "secret": "adminpwd", "call": id}); d["mcu"] != "success" || num(d, "call") != id {
		t.Errorf("hangup: %v", d)
	}
	member.wait("hungup event", func(m M) bool {
		pd := pluginData(m)
		return pd["dial"] == "hungup" && num(pd, "call", "id") == id && pd["reason"] == "hung up by the room"
	})
	for _, tc := range []struct {
		body M
		code uint64
	}{
		{M{"request": "hangup_call", "room": 1234, "call": id}, abUnauthorized},
		{M{"request": "hangup_call", "room": 1234, "secret": "adminpwd"}, abMissingElement},
		{M{"request": "hangup_call", "room": 1234, "secret": "adminpwd", "call": 7}, abNoSuchUser},
		{M{"request": "hangup_call", "room": 99, "secret": "adminpwd", "call": id}, abNoSuchRoom},
	} {
		if d := onMCU(tc.body); num(d, "error_code") != tc.code {
			t.Errorf("%v: %v, want error %d", tc.body, d, tc.code)
		}
	}
	if d := onBridge(M{"request": "hangup_call", "room": 1234, "secret": "adminpwd", "call": id}); num(d, "error_code") != abInvalidRequest {
		t.Errorf("hangup without a dialer: %v", d)
	}
	// The AudioBridge without a dialer says so.
	if d := onBridge(M{"request": "dial", "room": 1234, "secret": "adminpwd", "uri": "sip:bob@127.0.0.1"}); num(d, "error_code") != abInvalidRequest ||
		!strings.Contains(fmt.Sprint(d["error"]), "not available") {
		t.Errorf("dial without a dialer: %v", d)
	}
}
