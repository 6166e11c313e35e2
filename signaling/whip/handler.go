package whip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/endpoint"
	"github.com/tessera-mcu/tessera/room/rtc"
)

// Content types of the protocols.
const (
	typeSDP     = "application/sdp"
	typeSDPFrag = "application/trickle-ice-sdpfrag"
)

// maxBody bounds an offer or a trickle fragment: a browser's offer with
// every codec and extension is under 10 KiB.
const maxBody = 64 << 10

// requestTimeout bounds the work of one request on the room and the
// WebRTC engine.
const requestTimeout = 10 * time.Second

// cors sets the headers every response carries for browsers on other
// origins. The tokens travel in a header, never in cookies, so any origin
// may call.
func cors(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Patch")
}

// fail answers with a short text body.
func fail(w http.ResponseWriter, status int, msg string) {
	cors(w)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

// preflight answers a CORS preflight (and a plain OPTIONS).
func (s *Server) preflight(w http.ResponseWriter, req *http.Request) {
	cors(w)
	h := w.Header()
	methods := "POST, OPTIONS"
	if chi.URLParam(req, "session") != "" {
		methods = "PATCH, DELETE, OPTIONS"
		h.Set("Accept-Patch", typeSDPFrag)
	} else {
		h.Set("Accept-Post", typeSDP)
	}
	h.Set("Allow", methods)
	h.Set("Access-Control-Allow-Methods", methods)
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	h.Set("Access-Control-Max-Age", "86400")
	s.iceLinks(w)
	w.WriteHeader(http.StatusNoContent)
}

// iceLinks announces the configured STUN and TURN servers (RFC 9725
// section 4.6).
func (s *Server) iceLinks(w http.ResponseWriter) {
	for _, u := range s.o.ICEServers {
		w.Header().Add("Link", "<"+u+`>; rel="ice-server"`)
	}
}

// contentType checks a request's media type.
func contentType(w http.ResponseWriter, req *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || mt != want {
		fail(w, http.StatusUnsupportedMediaType, "Content-Type must be "+want)
		return false
	}
	return true
}

// readBody reads a bounded body.
func readBody(w http.ResponseWriter, req *http.Request) (string, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", maxBody))
		} else {
			fail(w, http.StatusBadRequest, "cannot read the body")
		}
		return "", false
	}
	return string(body), true
}

// findRoom reads the room in the path.
func (s *Server) findRoom(w http.ResponseWriter, req *http.Request) *room.Room {
	id, err := strconv.ParseUint(chi.URLParam(req, "room"), 10, 64)
	if err != nil {
		fail(w, http.StatusNotFound, "no such room (the room is a number)")
		return nil
	}
	r, err := s.o.Rooms.Get(room.RoomID(id))
	if err != nil {
		fail(w, http.StatusNotFound, "no such room")
		return nil
	}
	return r
}

// create makes a session from a POSTed offer.
func (s *Server) create(w http.ResponseWriter, req *http.Request, kind Kind) {
	r := s.findRoom(w, req)
	if r == nil {
		return
	}
	cred, ok := s.authorize(w, req, r, kind)
	if !ok {
		return
	}
	if !contentType(w, req, typeSDP) {
		return
	}
	offer, ok := readBody(w, req)
	if !ok {
		return
	}
	dirs, err := rtc.OfferDirections(offer, r.HasVideo())
	if err != nil {
		offerError(w, err)
		return
	}
	if msg := checkDirections(kind, dirs); msg != "" {
		fail(w, http.StatusUnprocessableEntity, msg)
		return
	}
	name := cred.name
	if name == "" {
		name = req.URL.Query().Get("name")
	}
	if name == "" {
		name = strings.ToUpper(string(kind))
	}
	if err := CheckName(name); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), requestTimeout)
	defer cancel()
	join := room.JoinRequest{Display: name, Pin: r.Config().Pin, Viewer: kind == KindWHEP}
	if len(dirs.VideoCodecs) > 0 {
		join.VideoCodec = dirs.VideoCodecs[0]
	}
	me, _, err := r.Join(ctx, join)
	if err != nil {
		joinError(w, err)
		return
	}
	ss := &session{id: newSessionID(), kind: kind, room: r, pid: me.ID, etag: newETag(), ufrag: offerUfrag(offer)}
	if !s.add(ss) {
		_ = r.Leave(context.WithoutCancel(ctx), me.ID)
		fail(w, http.StatusServiceUnavailable, "the server is shutting down")
		return
	}
	ans, err := s.o.WebRTC.Offer(ctx, member{Member: r.Member(me.ID), ended: func() { s.end(ss, "connection ended") }}, offer)
	if err != nil {
		s.end(ss, "offer failed")
		offerError(w, err)
		return
	}
	s.log.Info("session started", "kind", kind, "room", r.ID(), "participant", me.ID, "name", name)
	cors(w)
	h := w.Header()
	h.Set("Content-Type", typeSDP)
	h.Set("Location", "/"+string(kind)+"/"+r.ID().String()+"/"+string(ss.id))
	h.Set("ETag", ss.etag)
	h.Set("Accept-Patch", typeSDPFrag)
	s.iceLinks(w)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, ans.SDP)
}

// checkDirections tells what is wrong with an offer for kind ("": nothing).
func checkDirections(kind Kind, d rtc.Directions) string {
	switch kind {
	case KindWHIP:
		if !d.SendsAudio && !d.SendsVideo {
			return "a WHIP offer must send audio or video (sendonly)"
		}
	case KindWHEP:
		if !d.ReceivesAudio && !d.ReceivesVideo {
			return "a WHEP offer must receive audio or video (recvonly)"
		}
	}
	return ""
}

// offerError answers an offer the engine could not take.
func offerError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, endpoint.ErrInvalidSDP):
		fail(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, endpoint.ErrNoMedia), errors.Is(err, endpoint.ErrAnswer):
		fail(w, http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, room.ErrClosed), errors.Is(err, room.ErrParticipantNotFound):
		fail(w, http.StatusNotFound, "the room ended")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		fail(w, http.StatusServiceUnavailable, "timed out")
	default:
		fail(w, http.StatusInternalServerError, "cannot answer the offer")
	}
}

// joinError answers a join the room refused.
func joinError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, room.ErrRoomFull), errors.Is(err, room.ErrServerFull):
		w.Header().Set("Retry-After", "30")
		fail(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, room.ErrClosed):
		fail(w, http.StatusNotFound, "no such room")
	case errors.Is(err, room.ErrInvalidValue):
		fail(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		fail(w, http.StatusServiceUnavailable, "timed out")
	default:
		fail(w, http.StatusInternalServerError, "cannot join the room")
	}
}

// session finds the session in the path, or answers 404.
func (s *Server) session(w http.ResponseWriter, req *http.Request, kind Kind) *session {
	ss := s.lookup(SessionID(chi.URLParam(req, "session")), kind, chi.URLParam(req, "room"))
	if ss == nil {
		fail(w, http.StatusNotFound, "no such session")
	}
	return ss
}

// remove ends a session (DELETE).
func (s *Server) remove(w http.ResponseWriter, req *http.Request, kind Kind) {
	ss := s.session(w, req, kind)
	if ss == nil {
		return
	}
	s.end(ss, "deleted")
	cors(w)
	w.WriteHeader(http.StatusOK)
}

// trickle adds a client's trickled candidates (PATCH).
func (s *Server) trickle(w http.ResponseWriter, req *http.Request, kind Kind) {
	ss := s.session(w, req, kind)
	if ss == nil {
		return
	}
	if m := req.Header.Get("If-Match"); m != "" && m != "*" && m != ss.etag {
		fail(w, http.StatusPreconditionFailed, "the session's entity tag has changed")
		return
	}
	if !contentType(w, req, typeSDPFrag) {
		return
	}
	body, ok := readBody(w, req)
	if !ok {
		return
	}
	frag, err := parseSDPFrag(body)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if frag.ufrag != "" && frag.ufrag != ss.ufrag {
		fail(w, http.StatusUnprocessableEntity, "ICE restarts are not supported: make a new session")
		return
	}
	if len(frag.candidates) > 0 {
		ctx, cancel := context.WithTimeout(req.Context(), requestTimeout)
		defer cancel()
		if _, err := rtc.AddCandidates(ctx, ss.room.Member(ss.pid), frag.candidates); err != nil {
			switch {
			case errors.Is(err, endpoint.ErrTooManyCandidates):
				fail(w, http.StatusUnprocessableEntity, err.Error())
			case errors.Is(err, endpoint.ErrInvalidCandidate):
				fail(w, http.StatusBadRequest, err.Error())
			default:
				fail(w, http.StatusNotFound, "the session ended")
			}
			return
		}
	}
	cors(w)
	w.WriteHeader(http.StatusNoContent)
}

// newETag is a session's entity tag (a strong one, quoted).
func newETag() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return `"` + hex.EncodeToString(b[:]) + `"`
}

// offerUfrag is an offer's ICE username fragment (session level, else
// the first m-line's).
func offerUfrag(offer string) string {
	for _, line := range strings.Split(offer, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}
