package janus

import (
	"context"
	"errors"

	"github.com/tessera-mcu/tessera/room"
)

// Streamer starts live pushes of a room's meeting to an ingest URL (an
// RTMP or RTMPS pusher). Push returns once the stream runs in the room;
// the connection to the ingest may still be under way, and its progress
// comes as the room's stream events. A URL it cannot push to is an error
// wrapping room.ErrInvalidValue.
type Streamer interface {
	Push(ctx context.Context, r *room.Room, url string) (room.StreamInfo, error)
}

// SetStreamer enables the stream request (nil: it answers that streaming
// is not available). Call it before the plugin serves.
func (p *RoomPlugin) SetStreamer(s Streamer) { p.streamer = s }

// stream starts, stops or lists the room's live pushes: {action:
// "start", url} | {action: "stop", id} | {action: "list"}, with the
// room's secret when it has one (as record).
func (s *roomSession) stream(ctx context.Context, q roomCall) (M, error) {
	r, b, key := q.r, q.b, s.plugin.key
	action, err := b.str("action", true)
	if err != nil {
		return nil, err
	}
	switch action {
	case "start":
		url, err := b.str("url", true)
		if err != nil {
			return nil, err
		}
		if s.plugin.streamer == nil {
			return nil, perr(abInvalidRequest, "Streaming is not available on this server")
		}
		info, err := s.plugin.streamer.Push(ctx, r, url)
		if err != nil {
			return nil, streamErr(err)
		}
		return M{key: "success", "room": r.ID(), "stream": streamJSON(info)}, nil
	case "stop":
		id, err := b.uint("id", true)
		if err != nil {
			return nil, err
		}
		info, err := r.StopStream(ctx, room.StreamID(id))
		if err != nil {
			return nil, streamErr(err)
		}
		return M{key: "success", "room": r.ID(), "stream": streamJSON(info)}, nil
	case "list":
		list, err := r.Streams(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]M, 0, len(list))
		for _, info := range list {
			out = append(out, streamJSON(info))
		}
		return M{key: "success", "room": r.ID(), "streams": out}, nil
	}
	return nil, perr(abInvalidElement, "Invalid element (action should be start, stop or list)")
}

func streamJSON(info room.StreamInfo) M {
	m := M{"id": info.ID, "name": info.Name, "started": info.Started.UTC().Format("2006-01-02T15:04:05Z"),
		"video": info.Video, "dropped": info.Dropped}
	if info.Video {
		m["width"], m["height"] = info.Width, info.Height
	}
	return m
}

func streamErr(err error) *pluginError {
	switch {
	case errors.Is(err, room.ErrTooManyStreams):
		return perr(abUnauthorized, "Unauthorized (the server's stream limit is reached: %v)", err)
	case errors.Is(err, room.ErrNoSuchStream):
		return perr(abInvalidElement, "No such stream (%v)", err)
	}
	return roomErr(err)
}

// streamEvent tells a room's participants of a stream: "starting" when
// it starts, "streaming" once media flows (an RTMP ingest accepted the
// push, or its connection is back), "stream-error" when the
// connection failed and is being retried, "stream-stopped" when it ended
// (with the reason; an error ends it too).
func streamEvent(key string, id room.RoomID, e room.Event) M {
	ev := M{key: "event", "room": id, "stream": streamJSON(e.Stream)}
	switch {
	case !e.Streaming:
		ev["streaming"] = "stream-stopped"
		ev["reason"] = e.Reason
	case e.State == room.StreamStarting || e.State == room.StreamStreaming:
		ev["streaming"] = e.State
	default:
		ev["streaming"] = "stream-error"
		ev["state"] = e.State
		ev["error"] = e.Reason
	}
	return ev
}
