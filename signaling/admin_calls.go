package signaling

import (
	"context"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/signaling/internal/httpjson"
)

// Dialer places calls from a room to telephones (see janus.Dialer; a URI
// it cannot call wraps room.ErrInvalidValue).
type Dialer interface {
	Dial(ctx context.Context, r *room.Room, uri string) (room.CallInfo, error)
}

// Dial-out calls of a room:
//
//	POST /admin/rooms/{room}/calls  {"uri":"sip:…"}: 201 and the call;
//	                                its progress comes as the room's events
func (a *Admin) callRoutes(r chi.Router) {
	r.Post("/rooms/{room}/calls", a.dial)
}

func (a *Admin) dial(w http.ResponseWriter, r *http.Request) {
	rm := a.room(w, r)
	if rm == nil {
		return
	}
	var req struct {
		URI string `json:"uri"`
	}
	if !readBody(w, r, &req) {
		return
	}
	if req.URI == "" {
		adminError(w, http.StatusBadRequest, `body must be {"uri": "sip:user@host"}`)
		return
	}
	if a.Dialer == nil {
		adminError(w, http.StatusNotImplemented, "dialing out is not available on this server")
		return
	}
	info, err := a.Dialer.Dial(r.Context(), rm, req.URI)
	switch {
	case err == nil:
		httpjson.Write(w, http.StatusCreated, info)
	case errors.Is(err, room.ErrInvalidValue):
		adminError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, room.ErrClosed):
		adminError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, room.ErrRoomFull), errors.Is(err, room.ErrServerFull):
		adminError(w, http.StatusServiceUnavailable, err.Error())
	default:
		adminError(w, http.StatusInternalServerError, err.Error())
	}
}
