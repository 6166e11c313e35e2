package whip

import (
	"net/http"
	"strings"

	"github.com/tessera-mcu/tessera/room"
)

// credential is who a request is: a name the token gives (may be empty).
type credential struct {
	name string
}

// bearer reads "Bearer TOKEN" (RFC 6750 section 2.1; the scheme in any
// case).
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimLeft(token, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// authorize checks a request's bearer token for a session of kind in r:
// the room's secret, or a token minted for the room and the kind. It
// answers the request itself (401, 403) when it refuses. A wrong token
// counts against the client's address; a locked-out address has nothing
// compared.
func (s *Server) authorize(w http.ResponseWriter, req *http.Request, r *room.Room, kind Kind) (credential, bool) {
	token, ok := bearer(req.Header.Get("Authorization"))
	if !ok {
		unauthorized(w, "missing bearer token (send Authorization: Bearer TOKEN)")
		return credential{}, false
	}
	if !s.o.Lockout.Allow(req.RemoteAddr) {
		unauthorized(w, "too many failed attempts; try again later")
		return credential{}, false
	}
	if s.o.Tokens != nil {
		if g, ok := s.o.Tokens.Check(token); ok {
			switch {
			case g.Room != r.ID():
				fail(w, http.StatusForbidden, "the token is for another room")
				return credential{}, false
			case g.Kind != kind:
				fail(w, http.StatusForbidden, "the token is for "+strings.ToUpper(string(g.Kind))+", not "+strings.ToUpper(string(kind)))
				return credential{}, false
			}
			return credential{name: g.Name}, true
		}
	}
	if r.Config().Secret != "" && r.CheckSecret(token) {
		return credential{}, true
	}
	s.o.Lockout.Fail(req.RemoteAddr)
	unauthorized(w, "wrong token")
	return credential{}, false
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="tessera"`)
	fail(w, http.StatusUnauthorized, msg)
}
