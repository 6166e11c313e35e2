package janus

import (
	"context"
	"encoding/json"
	"errors"
)

// The admin API's token requests: add_token, remove_token, allow_token,
// disallow_token and list_tokens manage the stored tokens of token
// authentication (Options.TokenAuth), with Janus's answers.

// tokenAuthOff is Janus's answer to a token request while token
// authentication is off.
func tokenAuthOff(r *request) M {
	return errReply(0, r.transaction, errorf(CodeUnknown, "Stored-Token based authentication disabled"))
}

func (g *Gateway) adminListTokens(_ context.Context, r *request) M {
	if !g.opts.TokenAuth {
		return tokenAuthOff(r)
	}
	return M{"janus": "success", "transaction": r.transaction, "data": M{"tokens": g.tokens.list()}}
}

// adminAddToken stores a token, allowed the plugins named in "plugins"
// (those registered; others are left out) or, without it, every plugin.
func (g *Gateway) adminAddToken(_ context.Context, r *request) M {
	if !g.opts.TokenAuth {
		return tokenAuthOff(r)
	}
	token, err := r.raw.str("token", true)
	if err != nil {
		return errReply(0, r.transaction, coreError(err))
	}
	var plugins []string
	if r.raw.has("plugins") {
		names, _, ok := stringArray(r.raw["plugins"])
		if !ok {
			return errReply(0, r.transaction, errorf(CodeInvalidElementType, "Invalid element type (plugins should be an array)"))
		}
		for _, n := range names {
			if g.plugins[n] != nil {
				plugins = append(plugins, n)
			}
		}
	} else {
		for n := range g.plugins {
			plugins = append(plugins, n)
		}
	}
	allowed := g.tokens.add(token, plugins)
	g.log.Info("admin: token added", "plugins", allowed)
	return M{"janus": "success", "transaction": r.transaction, "data": M{"plugins": allowed}}
}

func (g *Gateway) adminRemoveToken(_ context.Context, r *request) M {
	if !g.opts.TokenAuth {
		return tokenAuthOff(r)
	}
	token, err := r.raw.str("token", true)
	if err != nil {
		return errReply(0, r.transaction, coreError(err))
	}
	if !g.tokens.remove(token) {
		return errReply(0, r.transaction, errorf(CodeUnknown, "Error removing token"))
	}
	g.log.Info("admin: token removed")
	return M{"janus": "success", "transaction": r.transaction}
}

// adminAllowToken allows (on) or disallows a stored token the plugins
// named in "plugins", a non-empty array of registered plugins.
func (g *Gateway) adminAllowToken(r *request, on bool) M {
	if !g.opts.TokenAuth {
		return tokenAuthOff(r)
	}
	token, err := r.raw.str("token", true)
	if err != nil {
		return errReply(0, r.transaction, coreError(err))
	}
	var names []string
	bad := 0
	if r.raw.has("plugins") {
		var ok bool
		if names, bad, ok = stringArray(r.raw["plugins"]); !ok {
			return errReply(0, r.transaction, errorf(CodeInvalidElementType, "Invalid element type (plugins should be an array)"))
		}
	}
	if len(names)+bad == 0 {
		return errReply(0, r.transaction, errorf(CodeInvalidElementType, "Invalid element type (plugins should be a non-empty array)"))
	}
	if !g.tokens.valid(token) {
		return errReply(0, r.transaction, errorf(CodeTokenNotFound, "Token %s not found", token))
	}
	for _, n := range names {
		if g.plugins[n] == nil {
			bad++
		}
	}
	if bad > 0 {
		return errReply(0, r.transaction, errorf(CodeInvalidElementType, "Invalid element type (some of the provided plugins are invalid)"))
	}
	allowed, err := g.tokens.allow(token, names, on)
	if errors.Is(err, errTokenNotFound) { // removed meanwhile
		return errReply(0, r.transaction, errorf(CodeTokenNotFound, "Token %s not found", token))
	}
	g.log.Info("admin: token plugins changed", "allowed", allowed)
	return M{"janus": "success", "transaction": r.transaction, "data": M{"plugins": allowed}}
}

// stringArray reads a JSON array of strings: the strings, how many
// items were something else, and false when raw is no array.
func stringArray(raw json.RawMessage) (names []string, bad int, ok bool) {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, 0, false
	}
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) != nil {
			bad++
			continue
		}
		names = append(names, s)
	}
	return names, bad, true
}
