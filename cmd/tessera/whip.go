package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/tessera-mcu/tessera/room/rtc"
	"github.com/tessera-mcu/tessera/signaling"
	"github.com/tessera-mcu/tessera/signaling/lockout"
	"github.com/tessera-mcu/tessera/signaling/whip"
)

// whipConfig configures the WHIP and WHEP endpoints.
type whipConfig struct {
	WHIP           bool   `yaml:"whip"`
	WHIPICEServers string `yaml:"whip_ice_servers"`
	WHIPMaxTokens  int    `yaml:"whip_max_tokens"`
}

func whipDefaults() whipConfig {
	return whipConfig{WHIP: true, WHIPMaxTokens: whip.DefaultMaxTokens}
}

func bindWHIP(fs *flag.FlagSet, c *whipConfig) {
	fs.BoolVar(&c.WHIP, "whip", c.WHIP, "serve the WHIP (/whip/{room}) and WHEP (/whep/{room}) endpoints and the admin API's token minting")
	fs.StringVar(&c.WHIPICEServers, "whip-ice-servers", c.WHIPICEServers, "comma-separated STUN/TURN URLs (stun:host:port, turn:host:port?transport=udp) announced to WHIP and WHEP clients in Link headers")
	fs.IntVar(&c.WHIPMaxTokens, "whip-max-tokens", c.WHIPMaxTokens, "most unexpired WHIP/WHEP tokens held at once (beyond it minting answers 503)")
}

func (c whipConfig) validate() error {
	if c.WHIPMaxTokens < 1 {
		return fmt.Errorf("%w: whip max tokens %d (at least 1)", errConfig, c.WHIPMaxTokens)
	}
	for _, u := range c.iceServers() {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			return fmt.Errorf("%w: whip ice server %q (want stun:, stuns:, turn: or turns:)", errConfig, u)
		}
		if strings.ContainsAny(u, "<>\" ") {
			return fmt.Errorf("%w: whip ice server %q has characters a Link header cannot carry", errConfig, u)
		}
	}
	return nil
}

func (c whipConfig) iceServers() []string {
	var out []string
	for _, u := range strings.Split(c.WHIPICEServers, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// newWHIP makes the endpoints and their token store (nil, nil when they
// are off).
func (c whipConfig) newWHIP(rooms whip.Rooms, engine *rtc.Engine, guesses *lockout.Limiter, admin *signaling.Admin, o *signaling.ServerOptions) (*whip.Server, *whip.Tokens) {
	if !c.WHIP {
		return nil, nil
	}
	tokens := whip.NewTokens(c.WHIPMaxTokens)
	admin.Tokens = tokens
	srv := whip.New(whip.Options{Rooms: rooms, WebRTC: engine, Tokens: tokens, Lockout: guesses, ICEServers: c.iceServers(),
		Logger: o.Logger})
	o.WHIP = srv
	return srv, tokens
}
