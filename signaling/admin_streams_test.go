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

type nullSink struct{}

func (nullSink) WriteVideo([]byte, bool, time.Duration) error { return nil }
func (nullSink) WriteAudio([]int16, time.Duration) error      { return nil }

// roomStreamer starts real room streams into nullSink; URLs other than
// rtmp:// are refused as a pusher refuses them.
type roomStreamer struct{}

func (roomStreamer) Push(ctx context.Context, r *room.Room, url string) (room.StreamInfo, error) {
	if !strings.HasPrefix(url, "rtmp://") {
		return room.StreamInfo{}, fmt.Errorf("%w: not rtmp", room.ErrInvalidValue)
	}
	return r.StartStream(ctx, room.StreamOptions{Name: "rtmp://ingest/live/…"}, nullSink{})
}

// The admin API starts (201), lists and stops (200) a room's streams;
// bad bodies and URLs get 400, unknown streams 404, the server's stream
// cap 503, and the key is needed.
func TestAdminStreams(t *testing.T) {
	rooms := newTestRooms(t, room.Limits{MaxStreams: 1}, 5, 6)
	srv := httptest.NewServer(NewRouter(ServerOptions{Admin: &Admin{Rooms: rooms, Key: "k", Streamer: roomStreamer{}}}))
	t.Cleanup(srv.Close)
	do := func(method, path, body, key string) (int, map[string]any) {
		t.Helper()
		return adminDo(t, srv, method, path, body, key)
	}
	if code, _ := do("POST", "/admin/rooms/5/streams", `{"url":"rtmp://x/live/k"}`, ""); code != http.StatusUnauthorized {
		t.Errorf("without the key: %d", code)
	}
	for _, tc := range []struct {
		body string
		want int
	}{{`{}`, 400}, {`null`, 400}, {`not json`, 400}, {`{"url":5}`, 400}, {`{"url":""}`, 400}, {`{"url":"http://x"}`, 400}} {
		if code, m := do("POST", "/admin/rooms/5/streams", tc.body, "k"); code != tc.want || m["error"] == "" {
			t.Errorf("%s: %d %v, want %d with an error", tc.body, code, m, tc.want)
		}
	}
	code, m := do("POST", "/admin/rooms/5/streams", `{"url":"rtmp://x/live/k"}`, "k")
	if code != http.StatusCreated {
		t.Fatalf("start: %d %v", code, m)
	}
	id := uint64(m["id"].(float64))
	if code, m := do("POST", "/admin/rooms/6/streams", `{"url":"rtmp://x/live/k"}`, "k"); code != http.StatusServiceUnavailable {
		t.Errorf("beyond the stream cap: %d %v", code, m)
	}
	if code, m := do("GET", "/admin/rooms/5/streams", "", "k"); code != 200 || len(m["streams"].([]any)) != 1 {
		t.Errorf("list: %d %v", code, m)
	}
	if code, _ := do("DELETE", "/admin/rooms/5/streams/12345", "", "k"); code != http.StatusNotFound {
		t.Errorf("stop of an unknown stream: %d", code)
	}
	if code, m := do("DELETE", fmt.Sprintf("/admin/rooms/5/streams/%d", id), "", "k"); code != 200 {
		t.Errorf("stop: %d %v", code, m)
	}
	if code, m := do("GET", "/admin/rooms/5/streams", "", "k"); code != 200 || len(m["streams"].([]any)) != 0 {
		t.Errorf("list after the stop: %d %v", code, m)
	}
}
