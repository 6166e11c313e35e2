package signaling

import (
	"context"
	"net/http"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/signaling/internal/httpjson"
)

// startFunc starts something in a room from one string (a call from a
// URI, a push from a URL) and returns what it started.
type startFunc func(ctx context.Context, rm *room.Room, value string) (any, error)

// startFromBody serves a POST that starts something in a room from the
// string field of its JSON body: 400 when the body is not JSON or the
// field is missing, empty or not a string (the answer shows an example);
// 501 with unavailable when the server has nothing to start it with
// (start nil); the room's error (see roomError); else 201 and what
// started.
func (a *Admin) startFromBody(w http.ResponseWriter, r *http.Request, field, example, unavailable string, start startFunc) {
	rm := a.room(w, r)
	if rm == nil {
		return
	}
	var req map[string]any
	if !readBody(w, r, &req) {
		return
	}
	value, _ := req[field].(string)
	if value == "" {
		adminError(w, http.StatusBadRequest, `body must be {"`+field+`": "`+example+`"}`)
		return
	}
	if start == nil {
		adminError(w, http.StatusNotImplemented, unavailable)
		return
	}
	info, err := start(r.Context(), rm, value)
	if err != nil {
		roomError(w, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, info)
}
