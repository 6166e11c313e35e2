package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The WHIP settings come from flags, the environment and the file, and
// bad ones are refused.
func TestWHIPConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tessera.yaml")
	if err := os.WriteFile(file, []byte("whip: false\nwhip_max_tokens: 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig([]string{"-config", file}, env(map[string]string{"TESSERA_WHIP_ICE_SERVERS": "stun:127.0.0.1:3478, turn:127.0.0.1:3478?transport=udp"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WHIP.WHIP || cfg.WHIP.WHIPMaxTokens != 5 || len(cfg.WHIP.iceServers()) != 2 {
		t.Errorf("file and environment: %+v", cfg.WHIP)
	}
	if cfg, err = loadConfig([]string{"-whip=true"}, env(nil), io.Discard); err != nil || !cfg.WHIP.WHIP || cfg.WHIP.WHIPMaxTokens != 10000 {
		t.Errorf("flag and defaults: %+v %v", cfg.WHIP, err)
	}
	for _, args := range [][]string{{"-whip-max-tokens", "0"}, {"-whip-ice-servers", "http://127.0.0.1"}, {"-whip-ice-servers", "stun:<x>"}} {
		if _, err := loadConfig(args, env(nil), io.Discard); !errors.Is(err, errConfig) {
			t.Errorf("%v: %v, want a configuration error", args, err)
		}
	}
}
