package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/plainrtp"
	"github.com/tessera-mcu/tessera/signaling/lockout"
	"github.com/tessera-mcu/tessera/signaling/sip"
)

// sipConfig configures the SIP user agent and the plain-RTP media of its
// calls.
type sipConfig struct {
	SIPListen     string        `yaml:"sip_listen"`
	SIPMediaPorts string        `yaml:"sip_media_ports"`
	SIPMediaIP    string        `yaml:"sip_media_ip"`
	SIPRTPTimeout time.Duration `yaml:"sip_rtp_timeout"`
	SIPInviteRate float64       `yaml:"sip_invite_rate"`
	// SIP over TLS, when a certificate is given.
	SIPTLSListen string `yaml:"sip_tls_listen"`
	SIPTLSCert   string `yaml:"sip_tls_cert"`
	SIPTLSKey    string `yaml:"sip_tls_key"`
	// Dial-out.
	SIPOutbound    string        `yaml:"sip_outbound"`
	SIPFrom        string        `yaml:"sip_from"`
	SIPUsername    string        `yaml:"sip_username"`
	SIPPassword    string        `yaml:"sip_password"`
	SIPDialTimeout time.Duration `yaml:"sip_dial_timeout"`
	SIPTLSCA       string        `yaml:"sip_tls_ca"`
	// Session timers and the PIN prompt.
	SIPMinSE          time.Duration `yaml:"sip_min_se"`
	SIPSessionExpires time.Duration `yaml:"sip_session_expires"`
	SIPPinWait        time.Duration `yaml:"sip_pin_wait"`
}

func sipDefaults() sipConfig {
	return sipConfig{
		SIPListen:     sip.DefaultAddress,
		SIPMediaPorts: fmt.Sprintf("%d-%d", plainrtp.DefaultPortMin, plainrtp.DefaultPortMax),
		SIPRTPTimeout: plainrtp.DefaultTimeout,
		SIPInviteRate: sip.DefaultInviteRate,
		SIPTLSListen:  ":5061",

		SIPDialTimeout: sip.DefaultDialTimeout,

		SIPMinSE:          sip.DefaultMinSE,
		SIPSessionExpires: sip.DefaultSessionExpires,
		SIPPinWait:        sip.DefaultPinWait,
	}
}

func bindSIP(fs *flag.FlagSet, c *sipConfig) {
	fs.StringVar(&c.SIPListen, "sip-listen", c.SIPListen, "SIP address (UDP and TCP) phones call rooms at, as sip:ROOM@host or sip:ROOM*PIN@host; empty disables SIP")
	fs.StringVar(&c.SIPMediaPorts, "sip-media-ports", c.SIPMediaPorts, "UDP port range MIN-MAX of SIP calls' RTP and RTCP (two ports a call, four with video)")
	fs.StringVar(&c.SIPMediaIP, "sip-media-ip", c.SIPMediaIP, "address SIP calls send their media to (the SDP c= line); empty: the first -public-ips, else -media-bind, else the address of the default route")
	fs.DurationVar(&c.SIPRTPTimeout, "sip-rtp-timeout", c.SIPRTPTimeout, "a SIP call with no RTP for this long is hung up")
	fs.StringVar(&c.SIPTLSListen, "sip-tls-listen", c.SIPTLSListen, "SIP over TLS address, used when -sip-tls-cert and -sip-tls-key are set")
	fs.StringVar(&c.SIPTLSCert, "sip-tls-cert", c.SIPTLSCert, "PEM certificate (chain) of SIP over TLS; with -sip-tls-key it turns the TLS listener on")
	fs.StringVar(&c.SIPTLSKey, "sip-tls-key", c.SIPTLSKey, "PEM private key of -sip-tls-cert")
	fs.StringVar(&c.SIPOutbound, "sip-outbound", c.SIPOutbound, "host:port of an outbound proxy or SIP trunk every dial-out INVITE goes to; empty: the dialled URI's host")
	fs.StringVar(&c.SIPFrom, "sip-from", c.SIPFrom, "From of dial-out calls, a SIP URI (a display name may come first); empty: sip:tessera@ the address calls leave from")
	fs.StringVar(&c.SIPUsername, "sip-username", c.SIPUsername, "username answering a trunk's digest challenge (401/407) to a dial-out call")
	fs.StringVar(&c.SIPPassword, "sip-password", c.SIPPassword, "password answering a trunk's digest challenge to a dial-out call")
	fs.DurationVar(&c.SIPDialTimeout, "sip-dial-timeout", c.SIPDialTimeout, "a dial-out call not answered in this time is cancelled (the room hears \"failed\")")
	fs.StringVar(&c.SIPTLSCA, "sip-tls-ca", c.SIPTLSCA, "PEM file of the certificate authorities trusted when dialling out over TLS (sips: URIs); empty: the system's")
	fs.DurationVar(&c.SIPMinSE, "sip-min-se", c.SIPMinSE, "shortest SIP session timer interval accepted (RFC 4028 Min-SE; shorter requests get 422), whole seconds")
	fs.DurationVar(&c.SIPSessionExpires, "sip-session-expires", c.SIPSessionExpires, "session timer interval dial-out calls ask for, whole seconds; 0: none")
	fs.DurationVar(&c.SIPPinWait, "sip-pin-wait", c.SIPPinWait, "how long a caller to a PIN room is prompted for the PIN before it is hung up")
	fs.Float64Var(&c.SIPInviteRate, "sip-invite-rate", c.SIPInviteRate, "new INVITEs per second one address may send (beyond a burst of "+strconv.Itoa(sip.DefaultInviteBurst)+": 503); negative: no limit")
}

func (c sipConfig) validate() error {
	if c.SIPListen == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.SIPListen); err != nil {
		return fmt.Errorf("%w: sip listen %q: %v", errConfig, c.SIPListen, err)
	}
	if _, _, err := c.ports(); err != nil {
		return err
	}
	if c.SIPMediaIP != "" {
		if a, err := netip.ParseAddr(c.SIPMediaIP); err != nil || a.IsUnspecified() {
			return fmt.Errorf("%w: sip media ip %q (an address to reach this server at)", errConfig, c.SIPMediaIP)
		}
	}
	if (c.SIPTLSCert == "") != (c.SIPTLSKey == "") {
		return fmt.Errorf("%w: -sip-tls-cert and -sip-tls-key go together", errConfig)
	}
	if c.SIPTLSCert != "" {
		if _, err := tls.LoadX509KeyPair(c.SIPTLSCert, c.SIPTLSKey); err != nil {
			return fmt.Errorf("%w: sip tls certificate: %v", errConfig, err)
		}
		if _, _, err := net.SplitHostPort(c.SIPTLSListen); err != nil {
			return fmt.Errorf("%w: sip tls listen %q: %v", errConfig, c.SIPTLSListen, err)
		}
	}
	if c.SIPTLSCA != "" {
		if _, err := c.dialTLS(); err != nil {
			return err
		}
	}
	if c.SIPMinSE < time.Second || c.SIPMinSE%time.Second != 0 || c.SIPSessionExpires < 0 || c.SIPSessionExpires%time.Second != 0 {
		return fmt.Errorf("%w: sip min-se %v / session expires %v (whole seconds, min-se at least 1s)", errConfig, c.SIPMinSE, c.SIPSessionExpires)
	}
	if c.SIPPinWait < time.Second {
		return fmt.Errorf("%w: sip pin wait %v (at least 1s)", errConfig, c.SIPPinWait)
	}
	if c.SIPRTPTimeout < time.Second {
		return fmt.Errorf("%w: sip rtp timeout %v (at least 1s)", errConfig, c.SIPRTPTimeout)
	}
	return nil
}

// ports reads SIPMediaPorts.
func (c sipConfig) ports() (lo, hi int, err error) {
	a, b, ok := strings.Cut(c.SIPMediaPorts, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || lo < 1024 || hi > 65535 || hi-lo < 3 {
		return 0, 0, fmt.Errorf("%w: sip media ports %q (want MIN-MAX within 1024..65535, at least four ports)", errConfig, c.SIPMediaPorts)
	}
	return lo, hi, nil
}

// mediaIP is the address put in SDP: the configured one, else
// reachableIP's.
func (c sipConfig) mediaIP(publicIPs []string, bind string) string {
	if c.SIPMediaIP != "" {
		return c.SIPMediaIP
	}
	return reachableIP(publicIPs, bind)
}

// reachableIP is the address others reach this server at: the first
// public address, else the media bind address, else the source address
// of the default route (found without sending anything).
func reachableIP(publicIPs []string, bind string) string {
	if len(publicIPs) > 0 {
		return publicIPs[0]
	}
	if a, err := netip.ParseAddr(bind); err == nil && !a.IsUnspecified() {
		return bind
	}
	if conn, err := net.Dial("udp", "192.0.2.1:9"); err == nil { // TEST-NET-1: routing only
		defer conn.Close()
		return conn.LocalAddr().(*net.UDPAddr).IP.String()
	}
	return "127.0.0.1"
}

// newSIP makes the SIP user agent and its media engine, listening (nil
// when SIP is off).
func (c sipConfig) newSIP(rooms *room.Manager, publicIPs []string, bind string, guesses *lockout.Limiter, loc sip.Locator, log *slog.Logger) (*sip.Server, error) {
	if c.SIPListen == "" {
		return nil, nil
	}
	lo, hi, err := c.ports()
	if err != nil {
		return nil, err
	}
	bindIP := bind
	if bindIP == "" {
		bindIP = "0.0.0.0"
	}
	engine, err := plainrtp.NewEngine(plainrtp.Config{PortMin: lo, PortMax: hi, BindIP: bindIP,
		SDPIP: c.mediaIP(publicIPs, bind), Timeout: c.SIPRTPTimeout, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("sip media: %w", err)
	}
	scfg := sip.Config{UDP: c.SIPListen, TCP: c.SIPListen, InviteRate: c.SIPInviteRate,
		Outbound: c.SIPOutbound, From: c.SIPFrom, Username: c.SIPUsername, Password: c.SIPPassword,
		DialTimeout: c.SIPDialTimeout, Lockout: guesses, Locator: loc, Logger: log,
		MinSE: c.SIPMinSE, SessionExpires: c.SIPSessionExpires, PinWait: c.SIPPinWait}
	if scfg.SessionExpires == 0 {
		scfg.SessionExpires = -1 // the flag's 0: ask for no session timer
	}
	if scfg.DialTLS, err = c.dialTLS(); err != nil {
		return nil, err
	}
	if c.SIPTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.SIPTLSCert, c.SIPTLSKey)
		if err != nil {
			return nil, fmt.Errorf("sip tls: %w", err)
		}
		scfg.TLS = c.SIPTLSListen
		scfg.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	srv, err := sip.New(scfg, rooms, sip.PlainRTP{Engine: engine})
	if err != nil {
		return nil, err
	}
	if err := srv.Listen(); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("%w (-sip-listen \"\" turns SIP off)", err)
	}
	return srv, nil
}

// dialTLS is the TLS client configuration of dial-out over TLS: the
// system's certificate authorities, or those of SIPTLSCA.
func (c sipConfig) dialTLS() (*tls.Config, error) {
	if c.SIPTLSCA == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(c.SIPTLSCA)
	if err != nil {
		return nil, fmt.Errorf("%w: sip tls ca: %v", errConfig, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w: sip tls ca %s holds no PEM certificate", errConfig, c.SIPTLSCA)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
