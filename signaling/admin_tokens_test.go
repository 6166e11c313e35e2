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
	"time"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/signaling/whip"
)

// POST /admin/rooms/{room}/tokens mints a token the store then accepts
// for that room and kind; without the admin key, or with a bad body,
// nothing is minted.
func TestAdminMintsWHIPTokens(t *testing.T) {
	rooms, err := room.NewManager(room.ManagerConfig{Workers: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rooms.Close(context.Background()) })
	r, err := rooms.Create(room.Config{Video: room.VideoConfig{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	tokens := whip.NewTokens(0)
	srv := httptest.NewServer(NewRouter(ServerOptions{Admin: &Admin{Rooms: rooms, Key: "k", Tokens: tokens}}))
	t.Cleanup(srv.Close)
	mint := func(key, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/admin/rooms/"+r.ID().String()+"/tokens", strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	code, body := mint("k", `{"kind":"whep","name":"lobby","ttl":"2h"}`)
	if code != http.StatusCreated {
		t.Fatalf("mint: %d %s", code, body)
	}
	var m whip.Minted
	if err := json.Unmarshal([]byte(body), &m); err != nil || len(m.Token) < 40 {
		t.Fatalf("mint answered %s (%v)", body, err)
	}
	if d := time.Until(m.Expires); d < 119*time.Minute || d > 121*time.Minute {
		t.Errorf("expires in %v, want 2h", d)
	}
	g, ok := tokens.Check(m.Token)
	if !ok || g.Room != r.ID() || g.Kind != whip.KindWHEP || g.Name != "lobby" {
		t.Errorf("the store holds %+v %v", g, ok)
	}
	for _, c := range []struct {
		key, body string
		want      int
	}{
		{"", `{"kind":"whip"}`, http.StatusUnauthorized},
		{"wrong", `{"kind":"whip"}`, http.StatusUnauthorized},
		{"k", `{"kind":"rtmp"}`, http.StatusBadRequest},
		{"k", `{"kind":"whip","ttl":"soon"}`, http.StatusBadRequest},
		{"k", `{"kind":"whip","ttl":"9999h"}`, http.StatusBadRequest},
		{"k", `not json`, http.StatusBadRequest},
	} {
		if code, body := mint(c.key, c.body); code != c.want {
			t.Errorf("key %q body %s: %d %s, want %d", c.key, c.body, code, body, c.want)
		}
	}
	if n := tokens.Len(); n != 1 {
		t.Errorf("%d tokens held, want 1", n)
	}
}
