package stream

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/stream/hls"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newRooms(t *testing.T) *room.Manager {
	t.Helper()
	m, err := room.NewManager(room.ManagerConfig{Workers: 1, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// A push to an ingest that refuses connections runs as a room stream,
// named without its key; the room hears of each failed attempt with the
// error, and of the stop. A URL that is no RTMP URL is the room's invalid
// value.
func TestPushTellsTheRoom(t *testing.T) {
	rooms := newRooms(t)
	r, err := rooms.Create(room.Config{ID: 7, Video: room.VideoConfig{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	sub := r.Subscribe(0)
	defer sub.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: every attempt is refused
	p := Pushes{Logger: quiet()}
	if _, err := p.Push(ctxT(t), r, "http://"+addr+"/live/key"); !errors.Is(err, room.ErrInvalidValue) {
		t.Fatalf("http URL: %v, want ErrInvalidValue", err)
	}
	info, err := p.Push(ctxT(t), r, "rtmp://"+addr+"/live/secret-key")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(info.Name, "secret-key") || !strings.HasPrefix(info.Name, "rtmp://"+addr+"/live") {
		t.Errorf("stream name %q", info.Name)
	}
	var retrying bool
	for deadline := time.After(5 * time.Second); !retrying; {
		select {
		case e := <-sub.C:
			if e.Kind == room.EventStream && e.Stream.ID == info.ID && e.State == "reconnecting" {
				retrying = strings.Contains(e.Reason, "refused") && strings.Contains(e.Reason, "retrying in")
				if !retrying {
					t.Fatalf("reconnecting event without the error and the retry: %q", e.Reason)
				}
			}
		case <-deadline:
			t.Fatal("no reconnecting event")
		}
	}
	if _, err := r.StopStream(ctxT(t), info.ID); err != nil {
		t.Fatal(err)
	}
	if n := rooms.Streams(); n != 0 {
		t.Errorf("%d streams after the stop", n)
	}
}

// HLS is served for rooms with HLS on only; a start attaches a room
// stream and a stop ends it.
func TestHLSSourceStartsAndStops(t *testing.T) {
	rooms := newRooms(t)
	if _, err := rooms.Create(room.Config{ID: 1, HLS: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := rooms.Create(room.Config{ID: 2}); err != nil {
		t.Fatal(err)
	}
	src := NewHLSSource(rooms, HLSConfig{Logger: quiet()})
	for _, name := range []string{"2", "3", "x", "0"} {
		if _, err := src.Start(name); !errors.Is(err, hls.ErrNoStream) {
			t.Errorf("room %q: %v, want ErrNoStream", name, err)
		}
	}
	m, err := src.Start("1")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WaitReady(ctxT(t)); err != nil {
		t.Fatalf("no first segment: %v", err)
	}
	if n := rooms.Streams(); n != 1 {
		t.Errorf("%d streams running, want 1", n)
	}
	src.Stop("1")
	if n := rooms.Streams(); n != 0 {
		t.Errorf("%d streams after the stop", n)
	}
	if !m.Done() {
		t.Error("the muxer is still open after the stop")
	}
}
