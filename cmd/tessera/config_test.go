package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tessera.yaml")
	yml := "listen: \":7000\"\nlog_format: json\nlog_level: warn\nshutdown_timeout: 3s\n"
	if err := os.WriteFile(file, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}

	// Defaults only.
	cfg, err := loadConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg != defaults() {
		t.Fatalf("defaults: got %+v", cfg)
	}

	// File over defaults.
	cfg, err = loadConfig([]string{"-config", file}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != ":7000" || cfg.LogFormat != "json" || cfg.LogLevel != "warn" || cfg.ShutdownTimeout != 3*time.Second {
		t.Fatalf("file: got %+v", cfg)
	}

	// Environment over file; file named by the environment.
	e := env(map[string]string{"TESSERA_CONFIG": file, "TESSERA_LISTEN": ":7100", "TESSERA_LOG_LEVEL": "debug"})
	cfg, err = loadConfig(nil, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != ":7100" || cfg.LogLevel != "debug" || cfg.LogFormat != "json" {
		t.Fatalf("env: got %+v", cfg)
	}

	// Flags over environment.
	cfg, err = loadConfig([]string{"-listen", ":7200", "-shutdown-timeout", "1s"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != ":7200" || cfg.ShutdownTimeout != time.Second || cfg.LogLevel != "debug" {
		t.Fatalf("flags: got %+v", cfg)
	}

	// A variable set to nothing counts: it switches the extra WebSocket
	// listener off.
	cfg, err = loadConfig(nil, env(map[string]string{"TESSERA_WS_LISTEN": ""}), io.Discard)
	if err != nil || cfg.WSListen != "" {
		t.Fatalf("TESSERA_WS_LISTEN empty: %q, %v", cfg.WSListen, err)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.yaml")
	_ = os.WriteFile(unknown, []byte("listne: \":1\"\n"), 0o600)
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
	}{
		"bad flag":       {args: []string{"-nope"}},
		"stray argument": {args: []string{"serve"}},
		"missing file":   {args: []string{"-config", filepath.Join(dir, "absent.yaml")}},
		"unknown key":    {args: []string{"-config", unknown}},
		"bad env value":  {env: map[string]string{"TESSERA_SHUTDOWN_TIMEOUT": "soon"}},
		"bad log format": {args: []string{"-log-format", "xml"}},
		"bad log level":  {env: map[string]string{"TESSERA_LOG_LEVEL": "loud"}},
		"zero timeout":   {args: []string{"-shutdown-timeout", "0s"}},
		"bad media port": {args: []string{"-media-port", "70000"}},
		"no talkers":     {env: map[string]string{"TESSERA_MAX_TALKERS": "0"}},
		"bad bool":       {env: map[string]string{"TESSERA_ICE_TCP": "maybe"}},
		"0 read timeout": {args: []string{"-read-timeout", "0s"}},
		"tiny max body":  {env: map[string]string{"TESSERA_MAX_BODY": "10"}},
		"negative wait":  {args: []string{"-ws-session-wait", "-1s"}},
		"bad input size": {args: []string{"-max-input-size", "1920"}},
		"tiny input":     {env: map[string]string{"TESSERA_MAX_INPUT_SIZE": "8x8"}},
		"zero budget":    {args: []string{"-decode-budget", "0"}},
		"budget above 1": {env: map[string]string{"TESSERA_DECODE_BUDGET": "1.5"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(tc.args, env(tc.env), io.Discard)
			if !errors.Is(err, errConfig) {
				t.Fatalf("err = %v, want a configuration error", err)
			}
		})
	}
}

// A recording file name template that leaves the recording folder or
// makes hidden files is refused at start-up, not when a recording starts.
func TestConfigRecordTemplate(t *testing.T) {
	for _, bad := range []string{"../room-{room}", "rec/{room}-{time}", ".{room}", "..", "/tmp/x"} {
		_, err := loadConfig([]string{"-record-template", bad}, env(nil), io.Discard)
		if !errors.Is(err, errConfig) || !strings.Contains(err.Error(), "record template") {
			t.Errorf("template %q: err = %v, want a configuration error naming the record template", bad, err)
		}
	}
	for _, good := range []string{"room-{room}-{time}", "meeting.{room}", "{time}"} {
		if _, err := loadConfig([]string{"-record-template", good}, env(nil), io.Discard); err != nil {
			t.Errorf("template %q: %v", good, err)
		}
	}
}
