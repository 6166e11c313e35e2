package whip

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tessera-mcu/tessera/room"
)

// Kind is what a token lets its holder do: publish (WHIP), watch over
// WebRTC (WHEP) or watch over HLS.
type Kind string

// Kinds of token and of session.
const (
	KindWHIP Kind = "whip"
	KindWHEP Kind = "whep"
	// KindHLS tokens open a room's HLS playlist (served elsewhere); the
	// WHIP and WHEP endpoints refuse them.
	KindHLS Kind = "hls"
)

// ParseKind reads a kind ("whip", "whep" or "hls").
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindWHIP, KindWHEP, KindHLS:
		return k, nil
	}
	return "", fmt.Errorf("%w: %q", ErrInvalidKind, s)
}

// Grant is what a token allows: one kind of session in one room, under
// a name (empty: the client's choice).
type Grant struct {
	Room room.RoomID
	Kind Kind
	Name string
}

// Minted is a new token and when it expires.
type Minted struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// Token store bounds.
const (
	// DefaultTTL is a token's lifetime when none is asked for.
	DefaultTTL = time.Hour
	// MaxTTL is the longest lifetime a token may have.
	MaxTTL = 7 * 24 * time.Hour
	// DefaultMaxTokens is how many unexpired tokens a store holds by
	// default.
	DefaultMaxTokens = 10000
	// MaxNameLen bounds a participant's name, in bytes.
	MaxNameLen = 128
)

// Tokens holds the tokens minted through the admin API, in memory, until
// they expire. Only their SHA-256 digests are kept, so a lookup's timing
// tells nothing of the tokens held. It is safe for concurrent use.
type Tokens struct {
	max int
	now func() time.Time

	mu     sync.Mutex
	grants map[[sha256.Size]byte]tokenEntry
}

type tokenEntry struct {
	grant   Grant
	expires time.Time
}

// NewTokens returns a store of at most max unexpired tokens (0:
// DefaultMaxTokens).
func NewTokens(max int) *Tokens {
	if max <= 0 {
		max = DefaultMaxTokens
	}
	return &Tokens{max: max, now: time.Now, grants: make(map[[sha256.Size]byte]tokenEntry)}
}

// CheckName validates a participant name.
func CheckName(name string) error {
	if len(name) > MaxNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("%w: at most %d bytes of UTF-8", ErrInvalidName, MaxNameLen)
	}
	return nil
}

// Mint makes a token for g that lives ttl (0: DefaultTTL).
func (t *Tokens) Mint(g Grant, ttl time.Duration) (Minted, error) {
	if _, err := ParseKind(string(g.Kind)); err != nil {
		return Minted{}, err
	}
	if err := CheckName(g.Name); err != nil {
		return Minted{}, err
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 || ttl > MaxTTL {
		return Minted{}, fmt.Errorf("%w: %v (up to %v)", ErrInvalidTTL, ttl, MaxTTL)
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:]) // never fails (crypto/rand)
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	now := t.now()
	m := Minted{Token: token, Expires: now.Add(ttl).UTC().Truncate(time.Second)}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.grants) >= t.max {
		t.prune(now)
		if len(t.grants) >= t.max {
			return Minted{}, fmt.Errorf("%w: %d held", ErrTooManyTokens, len(t.grants))
		}
	}
	t.grants[sha256.Sum256([]byte(token))] = tokenEntry{grant: g, expires: now.Add(ttl)}
	return m, nil
}

// Check returns what an unexpired token grants.
func (t *Tokens) Check(token string) (Grant, bool) {
	key := sha256.Sum256([]byte(token))
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.grants[key]
	if !ok {
		return Grant{}, false
	}
	if !t.now().Before(e.expires) {
		delete(t.grants, key)
		return Grant{}, false
	}
	return e.grant, true
}

// Len is the number of tokens held (expired ones not yet dropped
// included).
func (t *Tokens) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.grants)
}

// prune drops the expired tokens (under mu).
func (t *Tokens) prune(now time.Time) {
	for k, e := range t.grants {
		if !now.Before(e.expires) {
			delete(t.grants, k)
		}
	}
}
