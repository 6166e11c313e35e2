package janus

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/url"
)

// Janus API authentication, checked where the Janus core checks it: a
// shared secret (Options.APISecret, the "apisecret" every request must
// carry) and stored tokens (Options.TokenAuth, the "token" every request
// must carry; the admin API adds and removes them). With both on, either
// one authorizes a request. info and ping at the root need neither, and a
// request the root does not serve is refused for its path (457) before
// its credentials are looked at.

// unauthorizedReason is Janus's text for error 403.
const unauthorizedReason = "Unauthorized request (wrong or missing secret/token)"

// authRequired reports whether requests need credentials.
func (g *Gateway) authRequired() bool { return g.opts.APISecret != "" || g.opts.TokenAuth }

// credentialsOK reports whether an API secret or a token authorizes a
// request.
func (g *Gateway) credentialsOK(apisecret, token string) bool {
	if !g.authRequired() {
		return true
	}
	if g.opts.APISecret != "" && secretsEqual(apisecret, g.opts.APISecret) {
		return true
	}
	return g.opts.TokenAuth && token != "" && g.tokens.valid(token)
}

// unauthorized answers a request its credentials do not authorize with
// 403; nil when they do, or when the request needs none.
func (g *Gateway) unauthorized(r *request) M {
	if !g.authRequired() || (r.sessionID == 0 && r.janus != "create") {
		return nil
	}
	if g.credentialsOK(stringField(r.raw, "apisecret"), stringField(r.raw, "token")) {
		return nil
	}
	return errReply(r.sessionID, r.transaction, errorf(CodeUnauthorized, unauthorizedReason))
}

// attachRefused checks an attach's token against the plugin (405), as
// Janus does with token authentication on: a request that carries a
// token may attach only to a plugin the token is allowed, even when the
// API secret authorized it.
func (g *Gateway) attachRefused(r *request, plugin string) *Error {
	if !g.opts.TokenAuth || !r.raw.has("token") {
		return nil
	}
	token, err := r.raw.str("token", false)
	if err != nil || g.tokens.mayAttach(token, plugin) {
		return nil
	}
	return errorf(CodeUnauthorizedPlugin, "Provided token can't access plugin '%s'", plugin)
}

// pollAllowed implements core: a long poll carries its credentials in
// its query (apisecret, token), as janus.js sends them.
func (g *Gateway) pollAllowed(q url.Values) bool {
	return g.credentialsOK(q.Get("apisecret"), q.Get("token"))
}

// adminAuthorized reports whether an admin request carries the admin
// secret. Without one configured nothing is authorized.
func (g *Gateway) adminAuthorized(r *request) bool {
	return g.opts.AdminSecret != "" && secretsEqual(stringField(r.raw, "admin_secret"), g.opts.AdminSecret)
}

// secretsEqual compares a secret in time that depends on neither its
// content nor its length.
func secretsEqual(given, want string) bool {
	a, b := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// stringField reads an optional string field; "" when it is missing or
// not a string.
func stringField(f fields, k string) string {
	v, err := f.str(k, false)
	if err != nil {
		return ""
	}
	return v
}
