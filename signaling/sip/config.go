package sip

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/signaling/lockout"
)

// Defaults of Config.
const (
	DefaultAddress   = ":5060"
	DefaultUserAgent = "Tessera"
	// DefaultInviteRate and DefaultInviteBurst are the token bucket of
	// INVITEs one source address may send.
	DefaultInviteRate  = 2.0
	DefaultInviteBurst = 10
	// DefaultByeTimeout bounds the wait for the answer to a BYE Tessera
	// sends.
	DefaultByeTimeout = 5 * time.Second
)

// Config configures the SIP user agent.
type Config struct {
	// UDP and TCP are the addresses to listen on, host:port (port 0: any
	// free one). Default both DefaultAddress; "-" turns one off.
	UDP, TCP string
	// UserAgent names Tessera in the User-Agent and Server headers.
	// Default DefaultUserAgent.
	UserAgent string
	// InviteRate is how many new INVITEs per second one source address
	// may send on average, InviteBurst how many at once. Past that the
	// INVITE gets 503 with Retry-After. Defaults DefaultInviteRate and
	// DefaultInviteBurst; a negative InviteRate turns the limit off.
	InviteRate  float64
	InviteBurst int
	// Ring is how long a call rings (180) before it is answered. Default
	// 0: answered at once.
	Ring time.Duration
	// ByeTimeout bounds the wait for the answer to a BYE Tessera sends.
	// Default DefaultByeTimeout.
	ByeTimeout time.Duration
	// OnDigit, if set, is told of each DTMF key a caller sends (RTP
	// telephone-event or SIP INFO application/dtmf-relay). It must return
	// soon.
	OnDigit func(r room.RoomID, p room.ParticipantID, key rune)
	// Lockout counts wrong PINs per source address, shared with the
	// other ways in (nil: a limiter of the server's own).
	Lockout *lockout.Limiter
	Logger  *slog.Logger
}

func (cfg Config) withDefaults() (Config, error) {
	if cfg.UDP == "" {
		cfg.UDP = DefaultAddress
	}
	if cfg.TCP == "" {
		cfg.TCP = DefaultAddress
	}
	for _, a := range []string{cfg.UDP, cfg.TCP} {
		if a == "-" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return cfg, fmt.Errorf("%w: address %q: %v", ErrInvalidConfig, a, err)
		}
	}
	if cfg.UDP == "-" && cfg.TCP == "-" {
		return cfg, fmt.Errorf("%w: no address to listen on", ErrInvalidConfig)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if strings.ContainsAny(cfg.UserAgent, "\r\n") {
		return cfg, fmt.Errorf("%w: user agent name has a line break", ErrInvalidConfig)
	}
	if cfg.InviteRate == 0 {
		cfg.InviteRate = DefaultInviteRate
	}
	if cfg.InviteBurst == 0 {
		cfg.InviteBurst = DefaultInviteBurst
	}
	if cfg.InviteBurst < 0 || cfg.Ring < 0 || cfg.ByeTimeout < 0 {
		return cfg, fmt.Errorf("%w: negative burst, ring or BYE timeout", ErrInvalidConfig)
	}
	if cfg.ByeTimeout == 0 {
		cfg.ByeTimeout = DefaultByeTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}
