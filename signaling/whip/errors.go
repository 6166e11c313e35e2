package whip

import "errors"

// Sentinel errors of the WHIP and WHEP endpoints and their token store.
var (
	// ErrInvalidKind: a token's kind is neither "whip" nor "whep".
	ErrInvalidKind = errors.New("whip: kind must be whip or whep")
	// ErrInvalidTTL: a token's lifetime is negative or beyond MaxTTL.
	ErrInvalidTTL = errors.New("whip: invalid token lifetime")
	// ErrInvalidName: a participant name is too long or not text.
	ErrInvalidName = errors.New("whip: invalid name")
	// ErrTooManyTokens: the store holds MaxTokens unexpired tokens.
	ErrTooManyTokens = errors.New("whip: too many tokens")
	// ErrClosed: the endpoints are shutting down.
	ErrClosed = errors.New("whip: closed")
)
