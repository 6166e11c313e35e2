package signaling

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/signaling/lockout"
)

// noRooms is a room manager without rooms.
type noRooms struct{}

func (noRooms) Get(room.RoomID) (*room.Room, error) { return nil, room.ErrRoomNotFound }
func (noRooms) RoomStats() []room.RoomStats         { return nil }

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

// Ten wrong admin keys from one address lock it out: the right key is
// then refused too, while another address gets in.
func TestAdminKeyGuessesLockTheClientOut(t *testing.T) {
	srv := httptest.NewServer(NewRouter(ServerOptions{Logger: quietLog(), Admin: &Admin{Rooms: noRooms{}, Key: "s3cret",
		Lockout: lockout.New(lockout.Options{Logger: quietLog()})}}))
	defer srv.Close()
	get := func(ip, key string) int {
		t.Helper()
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/rooms", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 10 {
		if code := get("127.0.0.1", fmt.Sprint("guess", i)); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: HTTP %d", i, code)
		}
	}
	if code := get("127.0.0.1", "s3cret"); code != http.StatusUnauthorized {
		t.Fatalf("the right key after 10 wrong ones: HTTP %d, want 401", code)
	}
	if code := get("127.0.0.2", "s3cret"); code != http.StatusOK {
		t.Fatalf("the right key from another address: HTTP %d", code)
	}
}
