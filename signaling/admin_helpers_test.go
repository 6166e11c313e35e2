package signaling

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tessera-mcu/tessera/room"
)

// newTestRooms starts a one-worker manager with limits, closed when the
// test ends, and creates the audio-only rooms ids in it.
func newTestRooms(t *testing.T, limits room.Limits, ids ...room.RoomID) *room.Manager {
	t.Helper()
	rooms, err := room.NewManager(room.ManagerConfig{Workers: 1, Limits: limits,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rooms.Close(context.Background()) })
	for _, id := range ids {
		if _, err := rooms.Create(room.Config{ID: id, Video: room.VideoConfig{Disabled: true}}); err != nil {
			t.Fatal(err)
		}
	}
	return rooms
}

// adminDo sends an admin request (key "": without the Authorization
// header) and returns its status and JSON body (nil when it has none).
func adminDo(t *testing.T, srv *httptest.Server, method, path, body, key string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}
