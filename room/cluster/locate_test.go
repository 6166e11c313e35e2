package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/tessera-mcu/tessera/internal/redistest"
)

// Locate: a hosted room's host; a room with a stored configuration and
// no host is placed (on the less loaded node) and stays there; a room
// with neither is ErrNoRoom.
func TestLocate(t *testing.T) {
	srv := redistest.New(t)
	s := openStore(t, srv.Addr())
	ctx := context.Background()
	a := join(t, s, "a")
	b := join(t, s, "b")
	if err := a.SetLoad(ctx, Load{Rooms: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Claim(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Locate(ctx, 7); err != nil || n.ID != "a" {
		t.Fatalf("locate hosted room: %v %v, want a", n.ID, err)
	}
	if err := s.CreateRoom(ctx, 8, json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Locate(ctx, 8); err != nil || n.ID != "b" {
		t.Fatalf("locate stored room: %v %v, want b (the less loaded)", n.ID, err)
	}
	if err := b.SetLoad(ctx, Load{Rooms: 50}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Locate(ctx, 8); err != nil || n.ID != "b" {
		t.Fatalf("locate placed room again: %v %v, want b still", n.ID, err)
	}
	if _, err := s.Locate(ctx, 9); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("locate unknown room: %v, want ErrNoRoom", err)
	}
}
