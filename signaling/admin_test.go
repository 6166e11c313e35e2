package signaling

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/room"
)

// GET /admin/rooms lists every one of a thousand rooms, quickly: it asks
// no room's goroutine (each of which answers on its next tick).
func TestAdminListsThousandRooms(t *testing.T) {
	rooms, err := room.NewManager(room.ManagerConfig{Workers: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rooms.Close(context.Background()) })
	const first, n = 1000, 1000
	for i := range n {
		if _, err := rooms.Create(room.Config{ID: room.RoomID(first + i), Video: room.VideoConfig{Disabled: true}}); err != nil {
			t.Fatal(err)
		}
	}
	busy, _ := rooms.Get(first + 7)
	me, _, err := busy.Join(context.Background(), room.JoinRequest{Display: "one"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewRouter(ServerOptions{Admin: &Admin{Rooms: rooms, Key: "k"}}))
	t.Cleanup(srv.Close)

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/rooms", nil)
	req.Header.Set("Authorization", "Bearer k")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Rooms []room.RoomStats `json:"rooms"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/rooms: HTTP %d, %v", resp.StatusCode, err)
	}
	if len(body.Rooms) != n {
		t.Fatalf("GET /admin/rooms listed %d rooms after %v, want %d", len(body.Rooms), took, n)
	}
	for i, st := range body.Rooms {
		if st.ID != room.RoomID(first+i) {
			t.Fatalf("entry %d is room %d, want %d (every room once, by ID)", i, st.ID, first+i)
		}
	}
	if st := body.Rooms[7]; st.Participants != 1 || len(st.Inputs) != 1 || st.Inputs[0].Participant != me.ID {
		t.Fatalf("the room with a participant: %+v", st)
	}
	if took > 2*time.Second {
		t.Fatalf("GET /admin/rooms took %v", took)
	}
	t.Logf("GET /admin/rooms: %d rooms in %v", len(body.Rooms), took)

	// The list's fields are the single room's.
	one, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/admin/rooms/%d", srv.URL, first+7), nil)
	one.Header.Set("Authorization", "Bearer k")
	resp, err = http.DefaultClient.Do(one)
	if err != nil {
		t.Fatal(err)
	}
	var single map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&single)
	resp.Body.Close()
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var listed struct {
		Rooms []map[string]any `json:"rooms"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&listed)
	resp.Body.Close()
	for k := range single {
		if _, ok := listed.Rooms[7][k]; !ok {
			t.Errorf("the list's entry has no %q", k)
		}
	}
	if len(listed.Rooms[7]) != len(single) {
		t.Errorf("list entry %v, single room %v", listed.Rooms[7], single)
	}
}
