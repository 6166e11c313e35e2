package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The Janus security settings that cannot work are refused at start-up.
func TestConfigJanusAuth(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"admin listener without secret":          {args: []string{"-janus-admin-listen", "127.0.0.1:7088"}, want: "janus admin secret"},
		"token auth with no way to store tokens": {args: []string{"-token-auth"}, want: "token auth"},
		"tokens without token auth":              {env: map[string]string{"TESSERA_JANUS_TOKENS": "a,b"}, want: "token auth is off"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(tc.args, env(tc.env), io.Discard)
			if !errors.Is(err, errConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a configuration error about %q", err, tc.want)
			}
		})
	}
	cfg, err := loadConfig([]string{"-token-auth", "-janus-tokens", " a, b ,,"}, env(map[string]string{
		"TESSERA_API_SECRET": "s", "TESSERA_JANUS_ADMIN_LISTEN": "127.0.0.1:7088", "TESSERA_JANUS_ADMIN_SECRET": "adm",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.APISecret != "s" || !cfg.TokenAuth || strings.Join(cfg.janusTokens(), "|") != "a|b" || cfg.JanusAdminListen != "127.0.0.1:7088" || cfg.JanusAdminSecret != "adm" {
		t.Fatalf("config: %+v", cfg)
	}
	if d := defaults(); d.JanusAdminListen != "" || d.APISecret != "" || d.TokenAuth {
		t.Fatalf("Janus security defaults: %+v", d)
	}
}

// A server started with an API secret, a start-up token and the Janus
// admin listener: the Janus API wants the secret or the token, the admin
// API its own secret on its own port, and set_log_level changes what the
// server logs.
func TestRunJanusSecurityAndAdmin(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminAddr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var logs strings.Builder
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-ws-listen", "", "-sip-listen", "", "-media-port", "0", "-media-bind", "127.0.0.1",
			"-log-format", "json", "-log-level", "info",
			"-api-secret", "s3cret", "-token-auth", "-janus-tokens", "boot",
			"-janus-admin-listen", adminAddr, "-janus-admin-secret", "adm"}, env(nil), &syncWriter{b: &logs}, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("server did not start")
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	post := func(url, body string) map[string]any {
		t.Helper()
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatalf("POST %s: %v", url, err)
		}
		return m
	}
	code := func(m map[string]any) float64 {
		e, _ := m["error"].(map[string]any)
		c, _ := e["code"].(float64)
		return c
	}
	api, admin := "http://"+addr+"/janus", "http://"+adminAddr+"/admin"

	if c := code(post(api, `{"janus":"create","transaction":"t"}`)); c != 403 {
		t.Fatalf("create without credentials: error %v", c)
	}
	for _, creds := range []string{`"apisecret":"s3cret"`, `"token":"boot"`} {
		if m := post(api, `{"janus":"create",`+creds+`,"transaction":"t"}`); m["janus"] != "success" {
			t.Fatalf("create with %s: %v", creds, m)
		}
	}
	info := post(api, `{"janus":"info","transaction":"t"}`)
	if info["api_secret"] != true || info["auth_token"] != true {
		t.Fatalf("info: %v", info)
	}
	// The admin API is on its own listener only.
	if resp, err := http.Post("http://"+addr+"/admin", "application/json", strings.NewReader(`{"janus":"list_sessions","admin_secret":"adm","transaction":"t"}`)); err == nil {
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if _, ok := m["sessions"]; ok {
			t.Fatal("the Janus admin API answers on the main listener")
		}
	}
	if c := code(post(admin, `{"janus":"list_sessions","transaction":"t"}`)); c != 403 {
		t.Fatalf("admin without its secret: error %v", c)
	}
	if m := post(admin, `{"janus":"list_sessions","admin_secret":"adm","transaction":"t"}`); len(m["sessions"].([]any)) != 2 {
		t.Fatalf("list_sessions: %v", m)
	}
	// A room made through message_plugin.
	m := post(admin, `{"janus":"message_plugin","admin_secret":"adm","transaction":"t","plugin":"janus.plugin.audiobridge","request":{"request":"create","room":77}}`)
	if r, _ := m["response"].(map[string]any); r["audiobridge"] != "created" {
		t.Fatalf("message_plugin create: %v", m)
	}

	// Debug lines appear once set_log_level asks for them (7), not before.
	const marker = "bad request"
	post(api, `{"transaction":"t"}`)
	if strings.Contains(logs.String(), marker) {
		t.Fatal("a debug line at level info")
	}
	if m := post(admin, `{"janus":"set_log_level","level":7,"admin_secret":"adm","transaction":"t"}`); m["janus"] != "success" {
		t.Fatalf("set_log_level: %v", m)
	}
	post(api, `{"transaction":"t"}`)
	if !strings.Contains(logs.String(), marker) {
		t.Fatalf("no debug line after set_log_level 7:\n%s", logs.String())
	}
}
