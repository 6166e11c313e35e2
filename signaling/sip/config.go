package sip

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

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
	// DefaultDialTimeout is how long a dial-out call may go unanswered.
	DefaultDialTimeout = 30 * time.Second
	// DefaultPinWait is how long the PIN prompt waits for a complete PIN.
	DefaultPinWait = 30 * time.Second
)

// Config configures the SIP user agent.
type Config struct {
	// TLS is the address to listen on for SIP over TLS (RFC 3261 section
	// 26; Debian phones and trunks use 5061), with TLSConfig's
	// certificate; empty: no TLS listener.
	TLS       string
	TLSConfig *tls.Config
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
	// Locator, when several Tessera nodes are one service, tells which
	// node hosts a room that is not open here: an INVITE for it is
	// redirected there (302). Nil: a room not open here is 404.
	Locator Locator

	// Dial-out (Server.Dial).

	// Outbound, host:port of an outbound proxy or SIP trunk (port 5060
	// if left out), is where every dial-out INVITE goes, whatever the
	// dialled URI's host; empty: straight to the URI's host.
	Outbound string
	// From is the From of dial-out calls, a SIP URI, with a display name
	// if wanted ("Tessera" <sip:rooms@example.net>); default
	// sip:tessera@ the address Tessera sends from.
	From string
	// Username and Password answer a 401 or 407 challenge to a dial-out
	// INVITE with digest authentication (RFC 3261 section 22); without a
	// password a challenge fails the call.
	Username, Password string
	// DialTimeout is how long a dial-out call may go unanswered before
	// it is cancelled (CANCEL) and fails. Default DefaultDialTimeout.
	DialTimeout time.Duration
	// DialTLS is the TLS client configuration of dial-out over TLS (sips:
	// URIs and transport=tls, which also need the TLS listener): which
	// certificate authorities to trust (nil: the system's).
	DialTLS *tls.Config
	// SessionExpires is the session interval (RFC 4028) dial-out calls
	// ask for, raised to MinSE; default DefaultSessionExpires; negative:
	// they ask for none (and only say they support timers).
	SessionExpires time.Duration

	// MinSE is the shortest session interval (RFC 4028 session timers)
	// Tessera accepts: a call asking for less is refused 422 with Min-SE,
	// or given MinSE when it cannot read a 422. Default DefaultMinSE, the
	// RFC's floor; whole seconds, shorter values are for tests only.
	MinSE time.Duration
	// PinWait is how long the PIN prompt waits for a complete PIN before
	// it hangs up. Default DefaultPinWait.
	PinWait time.Duration
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
	if cfg.TLS != "" {
		if _, _, err := net.SplitHostPort(cfg.TLS); err != nil {
			return cfg, fmt.Errorf("%w: tls address %q: %v", ErrInvalidConfig, cfg.TLS, err)
		}
		if cfg.TLSConfig == nil || (len(cfg.TLSConfig.Certificates) == 0 && cfg.TLSConfig.GetCertificate == nil) {
			return cfg, fmt.Errorf("%w: a TLS listener needs a certificate", ErrInvalidConfig)
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
	if cfg.DialTimeout < 0 {
		return cfg, fmt.Errorf("%w: negative dial timeout", ErrInvalidConfig)
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.MinSE == 0 {
		cfg.MinSE = DefaultMinSE
	}
	if cfg.MinSE < time.Second || cfg.MinSE%time.Second != 0 {
		return cfg, fmt.Errorf("%w: Min-SE %v is not a whole number of seconds", ErrInvalidConfig, cfg.MinSE)
	}
	if cfg.SessionExpires == 0 {
		cfg.SessionExpires = DefaultSessionExpires
	}
	if cfg.SessionExpires > 0 && cfg.SessionExpires%time.Second != 0 {
		return cfg, fmt.Errorf("%w: session interval %v is not a whole number of seconds", ErrInvalidConfig, cfg.SessionExpires)
	}
	if cfg.PinWait < 0 {
		return cfg, fmt.Errorf("%w: negative PIN wait", ErrInvalidConfig)
	}
	if cfg.PinWait == 0 {
		cfg.PinWait = DefaultPinWait
	}
	if cfg.Outbound != "" {
		if _, _, err := net.SplitHostPort(cfg.Outbound); err != nil {
			cfg.Outbound = net.JoinHostPort(cfg.Outbound, "5060")
		}
		if host, _, err := net.SplitHostPort(cfg.Outbound); err != nil || host == "" {
			return cfg, fmt.Errorf("%w: outbound proxy %q", ErrInvalidConfig, cfg.Outbound)
		}
	}
	if cfg.From != "" {
		var uri sip.Uri
		if _, err := sip.ParseAddressValue(cfg.From, &uri, nil); err != nil || uri.Host == "" {
			return cfg, fmt.Errorf("%w: From %q is not a SIP address", ErrInvalidConfig, cfg.From)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}
