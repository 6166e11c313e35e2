package signaling

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tessera-mcu/tessera/room"
)

// noRooms is a room manager without rooms.
type noRooms struct{}

func (noRooms) Get(room.RoomID) (*room.Room, error) { return nil, room.ErrRoomNotFound }
func (noRooms) List() []*room.Room                  { return nil }

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// With an admin key, only "Authorization: Bearer KEY" is let in (the
// scheme name in any case, RFC 7235); the bare key, another scheme or a
// wrong key get 401 with a JSON body saying why.
func TestAdminKeyNeedsBearerScheme(t *testing.T) {
	srv := httptest.NewServer(NewRouter(ServerOptions{Logger: quietLog(), Admin: &Admin{Rooms: noRooms{}, Key: "s3cret"}}))
	defer srv.Close()
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"Bearer s3cret", http.StatusOK},
		{"bearer s3cret", http.StatusOK},
		{"s3cret", http.StatusUnauthorized},
		{"Basic s3cret", http.StatusUnauthorized},
		{"Bearer wrong", http.StatusUnauthorized},
		{"Bearer", http.StatusUnauthorized},
		{"", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/rooms", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		decErr := json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Authorization %q: HTTP %d, want %d", tc.auth, resp.StatusCode, tc.want)
			continue
		}
		if tc.want == http.StatusUnauthorized {
			if decErr != nil || body["error"] == nil {
				t.Errorf("Authorization %q: 401 without an error body (%v, %v)", tc.auth, body, decErr)
			}
			if resp.Header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("Authorization %q: WWW-Authenticate %q", tc.auth, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
}
