package signaling

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/signaling/internal/httpjson"
	"github.com/tessera-mcu/tessera/signaling/lockout"
)

// AdminRooms is what the admin API needs of the room manager.
type AdminRooms interface {
	Get(id room.RoomID) (*room.Room, error)
	// RoomStats returns every room's last published counters, by ID,
	// without waiting for any room.
	RoomStats() []room.RoomStats
}

// Admin is the operators' REST API under /admin:
//
//	GET  /admin/rooms                  every room with its counters (as of the last second)
//	GET  /admin/rooms/{room}           one room
//	GET  /admin/rooms/{room}/recording the recording in progress
//	POST /admin/rooms/{room}/recording {"action":"start"|"stop", "video_codec"?, "filename"?}
//	     /admin/rooms/{room}/streams   live pushes (admin_streams.go)
//	POST /admin/rooms/{room}/calls     {"uri":"sip:…"}: dial out (admin_calls.go)
//	POST /admin/rooms/{room}/tokens    {"kind":"whip"|"whep", "name"?, "ttl"?} → {"token", "expires"}
//
// With a Key set, every request needs "Authorization: Bearer KEY".
// Without one, a room with a secret needs "X-Room-Secret: SECRET".
// A client address that sends too many wrong keys or secrets is refused
// for a while, its guesses not compared.
type Admin struct {
	Rooms     AdminRooms
	Key       string
	Recording room.RecordOptions
	// Lockout limits wrong keys and secrets per client address (nil:
	// NewRouter gives the API a limiter of its own).
	Lockout *lockout.Limiter
	// Streamer starts live pushes (nil: none; see admin_streams.go).
	Streamer Streamer
	// Dialer places dial-out calls (nil: none; see admin_calls.go).
	Dialer Dialer
	// Tokens mints the WHIP and WHEP endpoints' tokens (nil: no
	// /tokens route).
	Tokens TokenMinter
}

func (a *Admin) routes(r chi.Router) {
	r.Get("/rooms", a.list)
	r.Get("/rooms/{room}", a.roomStats)
	r.Get("/rooms/{room}/recording", a.recordingState)
	r.Post("/rooms/{room}/recording", a.recording)
	a.streamRoutes(r)
	a.callRoutes(r)
	if a.Tokens != nil {
		r.Post("/rooms/{room}/tokens", a.mintToken)
	}
}

func adminError(w http.ResponseWriter, status int, msg string) {
	httpjson.Write(w, status, map[string]string{"error": msg})
}

// keyOK checks the admin key, when one is set, and answers 401 when it
// is missing or wrong.
func (a *Admin) keyOK(w http.ResponseWriter, r *http.Request) bool {
	if a.Key == "" {
		return true
	}
	if !a.Lockout.Allow(r.RemoteAddr) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		adminError(w, http.StatusUnauthorized, tooManyFailures)
		return false
	}
	got, ok := bearerToken(r.Header.Get("Authorization"))
	if ok && subtle.ConstantTimeCompare([]byte(got), []byte(a.Key)) == 1 {
		return true
	}
	a.Lockout.Fail(r.RemoteAddr)
	refuseKey(w)
	return false
}

// tooManyFailures answers a client locked out for wrong keys or secrets.
const tooManyFailures = "too many failed attempts; try again later"

// secretOK checks the room's secret, when it has one, and answers 401
// when X-Room-Secret is missing or wrong.
func (a *Admin) secretOK(w http.ResponseWriter, r *http.Request, rm *room.Room) bool {
	if rm.Config().Secret == "" {
		return true
	}
	if !a.Lockout.Allow(r.RemoteAddr) {
		adminError(w, http.StatusUnauthorized, tooManyFailures)
		return false
	}
	if rm.CheckSecret(r.Header.Get("X-Room-Secret")) {
		return true
	}
	a.Lockout.Fail(r.RemoteAddr)
	adminError(w, http.StatusUnauthorized, "wrong room secret")
	return false
}

// bearerToken reads "Bearer TOKEN" (RFC 6750 section 2.1; the scheme name
// in any case, RFC 7235 section 2.1). Anything else, a bare token
// included, is no credential.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimLeft(token, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// refuseKey answers a request without the admin key.
func refuseKey(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", "Bearer")
	adminError(w, http.StatusUnauthorized, "missing or wrong admin key (send Authorization: Bearer KEY)")
}

// room finds the room in the path and checks the caller may manage it.
func (a *Admin) room(w http.ResponseWriter, r *http.Request) *room.Room {
	if !a.keyOK(w, r) {
		return nil
	}
	id, err := strconv.ParseUint(chi.URLParam(r, "room"), 10, 64)
	if err != nil {
		adminError(w, http.StatusBadRequest, "room must be a number")
		return nil
	}
	rm, err := a.Rooms.Get(room.RoomID(id))
	if err != nil {
		adminError(w, http.StatusNotFound, err.Error())
		return nil
	}
	if a.Key == "" && !a.secretOK(w, r, rm) {
		return nil
	}
	return rm
}

// readBody decodes a request's JSON body (at most 64 KiB) into v, or
// answers 400 and reports false.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<16))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		adminError(w, http.StatusBadRequest, "body must be JSON: "+err.Error())
		return false
	}
	return true
}

func (a *Admin) list(w http.ResponseWriter, r *http.Request) {
	if !a.keyOK(w, r) {
		return
	}
	// One snapshot of every room's counters as each last published them
	// (at most a second old): asking each room in turn would take a tick
	// of each.
	out := a.Rooms.RoomStats()
	if out == nil {
		out = []room.RoomStats{}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"rooms": out})
}

func (a *Admin) roomStats(w http.ResponseWriter, r *http.Request) {
	rm := a.room(w, r)
	if rm == nil {
		return
	}
	st, err := rm.Stats(r.Context())
	if err != nil {
		adminError(w, http.StatusNotFound, err.Error())
		return
	}
	httpjson.Write(w, http.StatusOK, st)
}

func (a *Admin) recordingState(w http.ResponseWriter, r *http.Request) {
	rm := a.room(w, r)
	if rm == nil {
		return
	}
	info, on, err := rm.Recording(r.Context())
	if err != nil {
		adminError(w, http.StatusNotFound, err.Error())
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"recording": on, "file": fileName(info.Path), "started": info.Started})
}

func fileName(p string) string {
	if p == "" {
		return ""
	}
	return filepath.Base(p)
}

func (a *Admin) recording(w http.ResponseWriter, r *http.Request) {
	rm := a.room(w, r)
	if rm == nil {
		return
	}
	var req struct {
		Action     string `json:"action"`
		VideoCodec string `json:"video_codec"`
		Filename   string `json:"filename"`
	}
	if !readBody(w, r, &req) {
		return
	}
	var (
		info room.RecordingInfo
		err  error
	)
	switch req.Action {
	case "start":
		o := a.Recording
		if req.VideoCodec != "" {
			o.VideoCodec = strings.ToLower(req.VideoCodec)
		}
		o.Name = req.Filename
		info, err = rm.StartRecording(r.Context(), o)
	case "stop":
		info, err = rm.StopRecording(r.Context())
	default:
		adminError(w, http.StatusBadRequest, `action must be "start" or "stop"`)
		return
	}
	if err != nil {
		roomError(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"recording": info.Recording, "file": fileName(info.Path)})
}
