package plainrtp

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Defaults of Config.
const (
	DefaultPortMin        = 20000
	DefaultPortMax        = 20999
	DefaultTimeout        = 30 * time.Second
	DefaultReportInterval = 5 * time.Second
)

// Config configures the plain-RTP engine.
type Config struct {
	// PortMin and PortMax bound the UDP media ports (inclusive). Each
	// session takes an even port for RTP and the next odd one for RTCP.
	// Defaults DefaultPortMin and DefaultPortMax.
	PortMin, PortMax int
	// BindIP is the address the media sockets listen on. Default
	// 0.0.0.0.
	BindIP string
	// SDPIP is the address put in the answer's c= and o= lines, where
	// the remote party sends its media. Default BindIP, which must then
	// not be unspecified.
	SDPIP string
	// Timeout ends a session when no RTP arrived for that long while the
	// remote party is meant to send (not while it holds the call with
	// recvonly or inactive). Default DefaultTimeout.
	Timeout time.Duration
	// ReportInterval is the time between two RTCP sender reports.
	// Default DefaultReportInterval.
	ReportInterval time.Duration
	Logger         *slog.Logger
}

// withDefaults checks cfg and fills in its defaults.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.PortMin == 0 && cfg.PortMax == 0 {
		cfg.PortMin, cfg.PortMax = DefaultPortMin, DefaultPortMax
	}
	if cfg.PortMin%2 == 1 {
		cfg.PortMin++ // RTP on even ports
	}
	if cfg.PortMin < 1024 || cfg.PortMax > 65535 || cfg.PortMax < cfg.PortMin+1 {
		return cfg, fmt.Errorf("%w: media ports %d..%d (want an even..odd range within 1024..65535 holding at least one pair)",
			ErrInvalidConfig, cfg.PortMin, cfg.PortMax)
	}
	if cfg.BindIP == "" {
		cfg.BindIP = "0.0.0.0"
	}
	bind, err := netip.ParseAddr(cfg.BindIP)
	if err != nil {
		return cfg, fmt.Errorf("%w: bind address %q", ErrInvalidConfig, cfg.BindIP)
	}
	if cfg.SDPIP == "" {
		if bind.IsUnspecified() {
			return cfg, fmt.Errorf("%w: bind address %s needs an SDP address", ErrInvalidConfig, bind)
		}
		cfg.SDPIP = cfg.BindIP
	}
	if a, err := netip.ParseAddr(cfg.SDPIP); err != nil || a.IsUnspecified() {
		return cfg, fmt.Errorf("%w: SDP address %q", ErrInvalidConfig, cfg.SDPIP)
	}
	if cfg.Timeout < 0 || cfg.ReportInterval < 0 {
		return cfg, fmt.Errorf("%w: negative timeout or report interval", ErrInvalidConfig)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ReportInterval == 0 {
		cfg.ReportInterval = DefaultReportInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}
