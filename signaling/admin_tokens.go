package signaling

import (
	"errors"
	"net/http"
	"time"

	"github.com/tessera-mcu/tessera/signaling/internal/httpjson"
	"github.com/tessera-mcu/tessera/signaling/whip"
)

// TokenMinter mints the bearer tokens of the WHIP and WHEP endpoints.
type TokenMinter interface {
	Mint(g whip.Grant, ttl time.Duration) (whip.Minted, error)
}

// mintToken answers POST /admin/rooms/{room}/tokens
// {"kind":"whip"|"whep"|"hls", "name"?, "ttl"?} with {"token", "expires"}.
func (a *Admin) mintToken(w http.ResponseWriter, r *http.Request) {
	rm := a.room(w, r)
	if rm == nil {
		return
	}
	var req struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
		TTL  string `json:"ttl"`
	}
	if !readBody(w, r, &req) {
		return
	}
	kind, err := whip.ParseKind(req.Kind)
	if err != nil {
		adminError(w, http.StatusBadRequest, `kind must be "whip", "whep" or "hls"`)
		return
	}
	var ttl time.Duration
	if req.TTL != "" {
		if ttl, err = time.ParseDuration(req.TTL); err != nil {
			adminError(w, http.StatusBadRequest, `ttl must be a duration such as "1h" or "30m"`)
			return
		}
	}
	m, err := a.Tokens.Mint(whip.Grant{Room: rm.ID(), Kind: kind, Name: req.Name}, ttl)
	switch {
	case errors.Is(err, whip.ErrTooManyTokens):
		adminError(w, http.StatusServiceUnavailable, err.Error())
	case err != nil:
		adminError(w, http.StatusBadRequest, err.Error())
	default:
		httpjson.Write(w, http.StatusCreated, m)
	}
}
