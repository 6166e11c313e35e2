package whip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/rtc"
	"github.com/tessera-mcu/tessera/signaling/lockout"
)

// Rooms is what the endpoints need of the room manager.
type Rooms interface {
	Get(id room.RoomID) (*room.Room, error)
}

// Offerer answers a participant's SDP offer (the WebRTC engine).
type Offerer interface {
	Offer(ctx context.Context, m rtc.Member, offer string) (rtc.Answer, error)
}

// Options configures a Server.
type Options struct {
	Rooms  Rooms
	WebRTC Offerer
	// Tokens holds the minted tokens (nil: only room secrets are
	// accepted).
	Tokens *Tokens
	// Lockout counts wrong tokens per client address (nil: a limiter of
	// the server's own).
	Lockout *lockout.Limiter
	// ICEServers are STUN and TURN URLs announced to clients in Link
	// headers (RFC 9725 section 4.6), e.g. "stun:stun.example.net:3478".
	ICEServers []string
	Logger     *slog.Logger
}

// SessionID names a session: 128 random bits, in hex.
type SessionID string

func newSessionID() SessionID {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return SessionID(hex.EncodeToString(b[:]))
}

// session is one WHIP publisher or WHEP viewer: a participant of a room
// with a PeerConnection.
type session struct {
	id   SessionID
	kind Kind
	room *room.Room
	pid  room.ParticipantID
	etag string
	// ufrag is the client's ICE username fragment: a PATCH with another
	// asks for an ICE restart.
	ufrag string
	once  sync.Once
}

// Server serves the WHIP and WHEP endpoints and owns their sessions.
type Server struct {
	o   Options
	log *slog.Logger

	mu       sync.Mutex
	sessions map[SessionID]*session
	closed   bool
	// ending counts the goroutines that take ended sessions' participants
	// out of their rooms; Close waits for them.
	ending sync.WaitGroup
}

// New makes the endpoints.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Lockout == nil {
		o.Lockout = lockout.New(lockout.Options{Logger: o.Logger.With("api", "whip")})
	}
	return &Server{o: o, log: o.Logger.With("api", "whip"), sessions: make(map[SessionID]*session)}
}

// Mount adds the endpoints to r: /whip/{room} and /whep/{room}, and their
// sessions' URLs below them.
func (s *Server) Mount(r chi.Router) {
	for _, k := range []Kind{KindWHIP, KindWHEP} {
		base := "/" + string(k) + "/{room}"
		r.Post(base, func(w http.ResponseWriter, req *http.Request) { s.create(w, req, k) })
		r.Options(base, s.preflight)
		r.Delete(base+"/{session}", func(w http.ResponseWriter, req *http.Request) { s.remove(w, req, k) })
		r.Patch(base+"/{session}", func(w http.ResponseWriter, req *http.Request) { s.trickle(w, req, k) })
		r.Options(base+"/{session}", s.preflight)
	}
}

// Sessions is the number of sessions open.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// add registers a new session; false once the server is closed.
func (s *Server) add(ss *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.sessions[ss.id] = ss
	return true
}

// lookup finds a session of a kind in a room.
func (s *Server) lookup(id SessionID, kind Kind, roomID string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[id]
	if ss == nil || ss.kind != kind || ss.room.ID().String() != roomID {
		return nil
	}
	return ss
}

// end takes a session off the server and its participant out of the room
// (which closes its PeerConnection), once, on a goroutine the server
// waits for: it is called from the connection's own callbacks too.
func (s *Server) end(ss *session, reason string) {
	ss.once.Do(func() {
		s.mu.Lock()
		delete(s.sessions, ss.id)
		s.ending.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.ending.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := ss.room.Leave(ctx, ss.pid)
			if err != nil && !errors.Is(err, room.ErrParticipantNotFound) && !errors.Is(err, room.ErrClosed) {
				s.log.Warn("session ended; leaving the room failed", "kind", ss.kind, "room", ss.room.ID(), "participant", ss.pid, "err", err)
				return
			}
			s.log.Info("session ended", "kind", ss.kind, "room", ss.room.ID(), "participant", ss.pid, "reason", reason)
		}()
	})
}

// Close ends every session, refuses new ones, and waits until their
// participants have left their rooms.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	all := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		all = append(all, ss)
	}
	s.mu.Unlock()
	for _, ss := range all {
		s.end(ss, "shutdown")
	}
	s.ending.Wait()
}
