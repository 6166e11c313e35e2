package signaling

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/signaling/internal/httpjson"
)

// Streamer starts live pushes of a room's meeting to an ingest URL (see
// janus.Streamer; a URL it refuses wraps room.ErrInvalidValue).
type Streamer interface {
	Push(ctx context.Context, r *room.Room, url string) (room.StreamInfo, error)
}

// The live streams of a room:
//
//	GET    /admin/rooms/{room}/streams       the streams running
//	POST   /admin/rooms/{room}/streams       {"url":"rtmp://…/key"}: 201 and the stream
//	DELETE /admin/rooms/{room}/streams/{id}  stop one
func (a *Admin) streamRoutes(r chi.Router) {
	r.Get("/rooms/{room}/streams", a.listStreams)
	r.Post("/rooms/{room}/streams", a.startStream)
	r.Delete("/rooms/{room}/streams/{id}", a.stopStream)
}

func (a *Admin) listStreams(w http.ResponseWriter, r *http.Request) {
	rm := a.room(w, r)
	if rm == nil {
		return
	}
	list, err := rm.Streams(r.Context())
	if err != nil {
		adminError(w, http.StatusNotFound, err.Error())
		return
	}
	if list == nil {
		list = []room.StreamInfo{}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"streams": list})
}

func (a *Admin) startStream(w http.ResponseWriter, r *http.Request) {
	var push startFunc
	if a.Streamer != nil {
		push = func(ctx context.Context, rm *room.Room, url string) (any, error) {
			return a.Streamer.Push(ctx, rm, url)
		}
	}
	a.startFromBody(w, r, "url", "rtmp://host/app/key", "streaming is not available on this server", push)
}

func (a *Admin) stopStream(w http.ResponseWriter, r *http.Request) {
	rm := a.room(w, r)
	if rm == nil {
		return
	}
	id, err := strconv.ParseUint(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		adminError(w, http.StatusNotFound, "no such stream: "+chi.URLParam(r, "id"))
		return
	}
	info, err := rm.StopStream(r.Context(), room.StreamID(id))
	if err != nil {
		roomError(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, info)
}
