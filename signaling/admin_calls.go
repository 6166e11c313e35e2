package signaling

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-mcu/tessera/room"
)

// Dialer places calls from a room to telephones and sends DTMF keys into
// them (see janus.Dialer; a URI it cannot call, or keys that are not
// keys, wrap room.ErrInvalidValue, an unknown call room.ErrCallNotFound).
type Dialer interface {
	Dial(ctx context.Context, r *room.Room, uri string) (room.CallInfo, error)
	SendDigits(ctx context.Context, r *room.Room, call room.CallID, keys string) error
	Hangup(ctx context.Context, r *room.Room, call room.CallID) error
}

// Dial-out calls of a room:
//
//	POST /admin/rooms/{room}/calls  {"uri":"sip:…"}: 201 and the call;
//	                                its progress comes as the room's events
//	POST /admin/rooms/{room}/calls/{call}/dtmf  {"digits":"1234#"}: 204
//	                                once the keys were sent
//	DELETE /admin/rooms/{room}/calls/{call}: 204; the call, ringing or
//	                                answered, ends (a hungup event)
func (a *Admin) callRoutes(r chi.Router) {
	r.Post("/rooms/{room}/calls", a.dial)
	r.Post("/rooms/{room}/calls/{call}/dtmf", a.dtmf)
	r.Delete("/rooms/{room}/calls/{call}", a.hangup)
}

// hangup ends a dial-out call: 404 for an unknown call.
func (a *Admin) hangup(w http.ResponseWriter, r *http.Request) {
	rm := a.room(w, r)
	if rm == nil {
		return
	}
	id, ok := callParam(w, r)
	if !ok {
		return
	}
	if a.Dialer == nil {
		adminError(w, http.StatusNotImplemented, "dialing out is not available on this server")
		return
	}
	if err := a.Dialer.Hangup(r.Context(), rm, id); err != nil {
		roomError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// callParam is the {call} of the path: false after answering 400 when it
// is not a number.
func callParam(w http.ResponseWriter, r *http.Request) (room.CallID, bool) {
	id, err := strconv.ParseUint(chi.URLParam(r, "call"), 10, 64)
	if err != nil {
		adminError(w, http.StatusBadRequest, "the call must be a number")
		return 0, false
	}
	return room.CallID(id), true
}

// dtmf sends DTMF keys into an answered dial-out call: 404 for an
// unknown call, 400 for keys that are not keys, 409 for a callee that
// takes no DTMF.
func (a *Admin) dtmf(w http.ResponseWriter, r *http.Request) {
	rm := a.room(w, r)
	if rm == nil {
		return
	}
	id, ok := callParam(w, r)
	if !ok {
		return
	}
	var req struct {
		Digits string `json:"digits"`
	}
	if !readBody(w, r, &req) {
		return
	}
	if req.Digits == "" {
		adminError(w, http.StatusBadRequest, `body must be {"digits": "1234#"}`)
		return
	}
	if a.Dialer == nil {
		adminError(w, http.StatusNotImplemented, "dialing out is not available on this server")
		return
	}
	if err := a.Dialer.SendDigits(r.Context(), rm, id, req.Digits); err != nil {
		roomError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *Admin) dial(w http.ResponseWriter, r *http.Request) {
	var dial startFunc
	if a.Dialer != nil {
		dial = func(ctx context.Context, rm *room.Room, uri string) (any, error) { return a.Dialer.Dial(ctx, rm, uri) }
	}
	a.startFromBody(w, r, "uri", "sip:user@host", "dialing out is not available on this server", dial)
}
