package janus

import (
	"slices"
	"strings"
	"sync"
)

// tokenStore holds the stored tokens of token authentication, each with
// the plugins it may attach to. The admin API adds and removes them;
// Options.Tokens are there from the start. It is safe for concurrent use.
type tokenStore struct {
	mu     sync.RWMutex
	tokens map[string]map[string]bool
}

func newTokenStore() *tokenStore {
	return &tokenStore{tokens: make(map[string]map[string]bool)}
}

// valid reports whether t is a stored token.
func (ts *tokenStore) valid(t string) bool {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	_, ok := ts.tokens[t]
	return ok
}

// mayAttach reports whether t is a stored token allowed to attach to
// plugin.
func (ts *tokenStore) mayAttach(t, plugin string) bool {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	return ts.tokens[t][plugin]
}

// add stores t (if new) and allows it plugins; it returns the plugins t
// may attach to.
func (ts *tokenStore) add(t string, plugins []string) []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	set := ts.tokens[t]
	if set == nil {
		set = make(map[string]bool)
		ts.tokens[t] = set
	}
	for _, p := range plugins {
		set[p] = true
	}
	return sortedKeys(set)
}

// remove deletes t; it reports false when there was no such token.
func (ts *tokenStore) remove(t string) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if _, ok := ts.tokens[t]; !ok {
		return false
	}
	delete(ts.tokens, t)
	return true
}

// allow (or, with on false, disallow) plugins for t; it returns the
// plugins t may attach to afterwards, or errTokenNotFound.
func (ts *tokenStore) allow(t string, plugins []string, on bool) ([]string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	set, ok := ts.tokens[t]
	if !ok {
		return nil, errTokenNotFound
	}
	for _, p := range plugins {
		if on {
			set[p] = true
		} else {
			delete(set, p)
		}
	}
	return sortedKeys(set), nil
}

// grant allows plugin to t when t is stored (a start-up token and a
// plugin registered after it).
func (ts *tokenStore) grant(t, plugin string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if set, ok := ts.tokens[t]; ok {
		set[plugin] = true
	}
}

// storedToken is one token as list_tokens shows it.
type storedToken struct {
	Token   string   `json:"token"`
	Plugins []string `json:"allowed_plugins"`
}

// list returns the tokens allowed at least one plugin, sorted (as Janus
// lists them: a token that may attach to nothing is left out, though it
// still authorizes requests).
func (ts *tokenStore) list() []storedToken {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	out := make([]storedToken, 0, len(ts.tokens))
	for t, set := range ts.tokens {
		if len(set) > 0 {
			out = append(out, storedToken{Token: t, Plugins: sortedKeys(set)})
		}
	}
	slices.SortFunc(out, func(a, b storedToken) int { return strings.Compare(a.Token, b.Token) })
	return out
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
