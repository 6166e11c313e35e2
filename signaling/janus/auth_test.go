package janus

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// adminServer serves s's gateway's admin API at /admin.
func adminServer(t *testing.T, s *server) *httptest.Server {
	t.Helper()
	admin := httptest.NewServer(s.gw.AdminHandler("/admin"))
	t.Cleanup(admin.Close)
	return admin
}

// adminPost sends an admin request and decodes the reply.
func adminPost(t *testing.T, admin *httptest.Server, path, body string) M {
	t.Helper()
	s := &server{http: admin}
	return s.post(t, path, body)
}

// mustRefuse fails unless m is Janus's error code with Janus's reason.
func mustRefuse(t *testing.T, what string, m M, code int) {
	t.Helper()
	if errCode(m) != code {
		t.Fatalf("%s: %v, want error %d", what, m, code)
	}
	if code == CodeUnauthorized {
		if r, _ := m["error"].(map[string]any)["reason"].(string); r != unauthorizedReason {
			t.Fatalf("%s: reason %q", what, r)
		}
	}
}

// getStatus is the status of a GET (a long poll).
func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Every request but info and ping needs the API secret: missing, wrong
// or of the wrong type it is refused with 403 and Janus's reason, over
// HTTP, long poll and WebSocket; the right one passes.
func TestAPISecret(t *testing.T) {
	s := newServer(t, Options{APISecret: "s3cret", PollTimeout: 100 * time.Millisecond})
	for what, body := range map[string]string{
		"missing": `{"janus":"create","transaction":"t"}`,
		"wrong":   `{"janus":"create","apisecret":"s3cre","transaction":"t"}`,
		"longer":  `{"janus":"create","apisecret":"s3cret!","transaction":"t"}`,
		"number":  `{"janus":"create","apisecret":5,"transaction":"t"}`,
		"a token": `{"janus":"create","token":"s3cret","transaction":"t"}`,
	} {
		mustRefuse(t, "create, secret "+what, s.post(t, "/janus", body), CodeUnauthorized)
	}
	info := s.post(t, "/janus", `{"janus":"info","transaction":"t"}`)
	if info["janus"] != "server_info" || info["api_secret"] != true || info["auth_token"] != false {
		t.Fatalf("info without a secret: %v", info)
	}
	if m := s.post(t, "/janus", `{"janus":"ping","transaction":"t"}`); m["janus"] != "pong" {
		t.Fatalf("ping without a secret: %v", m)
	}
	// Refused for its path before its credentials are looked at.
	mustRefuse(t, "attach at the root", s.post(t, "/janus", `{"janus":"attach","transaction":"t"}`), CodeInvalidRequestPath)

	created := s.post(t, "/janus", `{"janus":"create","apisecret":"s3cret","transaction":"t"}`)
	sid := num(created, "data", "id")
	if sid == 0 {
		t.Fatalf("create with the secret: %v", created)
	}
	sp := fmt.Sprintf("/janus/%d", sid)
	mustRefuse(t, "keepalive without", s.post(t, sp, `{"janus":"keepalive","transaction":"t"}`), CodeUnauthorized)
	mustRefuse(t, "keepalive on no session", s.post(t, "/janus/777", `{"janus":"keepalive","transaction":"t"}`), CodeUnauthorized)
	mustRefuse(t, "info on a session", s.post(t, sp, `{"janus":"info","transaction":"t"}`), CodeUnauthorized)
	mustRefuse(t, "attach without", s.post(t, sp, `{"janus":"attach","plugin":"janus.plugin.audiobridge","transaction":"t"}`), CodeUnauthorized)
	att := s.post(t, sp, `{"janus":"attach","plugin":"janus.plugin.audiobridge","apisecret":"s3cret","transaction":"t"}`)
	hid := num(att, "data", "id")
	if hid == 0 {
		t.Fatalf("attach with the secret: %v", att)
	}
	hp := fmt.Sprintf("%s/%d", sp, hid)
	mustRefuse(t, "message without", s.post(t, hp, `{"janus":"message","body":{"request":"list"},"transaction":"t"}`), CodeUnauthorized)
	if m := s.post(t, hp, `{"janus":"message","body":{"request":"list"},"apisecret":"s3cret","transaction":"t"}`); pluginData(m)["audiobridge"] != "success" {
		t.Fatalf("message with the secret: %v", m)
	}

	// The long poll carries it in its query, as janus.js sends it.
	if code := getStatus(t, s.http.URL+sp+"?maxev=1"); code != http.StatusForbidden {
		t.Fatalf("long poll without the secret: %d", code)
	}
	if code := getStatus(t, s.http.URL+sp+"?maxev=1&apisecret=wrong"); code != http.StatusForbidden {
		t.Fatalf("long poll with a wrong secret: %d", code)
	}
	if m := s.post(t, sp, `{"janus":"keepalive","apisecret":"s3cret","transaction":"t"}`); m["janus"] != "ack" {
		t.Fatalf("keepalive with the secret: %v", m)
	}
	if code := getStatus(t, s.http.URL+sp+"?maxev=1&apisecret=s3cret"); code != http.StatusOK {
		t.Fatalf("long poll with the secret: %d", code)
	}

	// WebSocket: the same checks, in the messages.
	c := dialWS(t, s)
	c.send(M{"janus": "create", "transaction": "w1"})
	mustRefuse(t, "websocket create without", c.tx("w1"), CodeUnauthorized)
	c.send(M{"janus": "create", "transaction": "w2", "apisecret": "s3cret"})
	if m := c.tx("w2"); m["janus"] != "success" {
		t.Fatalf("websocket create with the secret: %v", m)
	}
}

// Stored tokens: a token stored at start-up or through the admin API
// authorizes requests until it is removed; one restricted to some plugins
// attaches to those only (405 for others, and after disallow_token).
func TestStoredTokens(t *testing.T) {
	s := newServer(t, Options{TokenAuth: true, Tokens: []string{"boot"}, AdminSecret: "adm", PollTimeout: 100 * time.Millisecond})
	s.gw.Register(NewVideoMCU(s.rooms, s.webrtc, quietLog(), nil))
	admin := adminServer(t, s)
	adm := func(body string) M {
		t.Helper()
		return adminPost(t, admin, "/admin", strings.Replace(body, "{", `{"admin_secret":"adm","transaction":"a",`, 1))
	}

	if info := s.post(t, "/janus", `{"janus":"info","transaction":"t"}`); info["auth_token"] != true || info["api_secret"] != false {
		t.Fatalf("info: %v", info)
	}
	mustRefuse(t, "create without a token", s.post(t, "/janus", `{"janus":"create","transaction":"t"}`), CodeUnauthorized)
	mustRefuse(t, "create with an unknown token", s.post(t, "/janus", `{"janus":"create","token":"nope","transaction":"t"}`), CodeUnauthorized)
	mustRefuse(t, "create with a token that is a number", s.post(t, "/janus", `{"janus":"create","token":5,"transaction":"t"}`), CodeUnauthorized)

	// The start-up token may attach to every plugin.
	sid := num(s.post(t, "/janus", `{"janus":"create","token":"boot","transaction":"t"}`), "data", "id")
	if sid == 0 {
		t.Fatal("create with the start-up token failed")
	}
	sp := fmt.Sprintf("/janus/%d", sid)
	attach := func(plugin, creds string) M {
		t.Helper()
		return s.post(t, sp, fmt.Sprintf(`{"janus":"attach","plugin":%q,%s"transaction":"t"}`, plugin, creds))
	}
	for _, p := range []string{audioBridgePkg, videoMCUPkg} {
		if m := attach(p, `"token":"boot",`); m["janus"] != "success" {
			t.Fatalf("attach %s with the start-up token: %v", p, m)
		}
	}

	// A token for the AudioBridge only.
	if m := adm(`{"janus":"add_token","token":"ab-only","plugins":["janus.plugin.audiobridge","janus.plugin.nope"]}`); m["janus"] != "success" ||
		fmt.Sprint(m["data"].(map[string]any)["plugins"]) != "[janus.plugin.audiobridge]" {
		t.Fatalf("add_token: %v", m)
	}
	if m := attach(audioBridgePkg, `"token":"ab-only",`); m["janus"] != "success" {
		t.Fatalf("attach audiobridge with its token: %v", m)
	}
	mustRefuse(t, "attach the MCU with an audiobridge token", attach(videoMCUPkg, `"token":"ab-only",`), CodeUnauthorizedPlugin)
	mustRefuse(t, "attach an unknown plugin", attach("janus.plugin.nope", `"token":"ab-only",`), CodePluginNotFound)

	// Disallowed: refused; allowed again: attaches.
	if m := adm(`{"janus":"disallow_token","token":"ab-only","plugins":["janus.plugin.audiobridge"]}`); m["janus"] != "success" {
		t.Fatalf("disallow_token: %v", m)
	}
	mustRefuse(t, "attach after disallow_token", attach(audioBridgePkg, `"token":"ab-only",`), CodeUnauthorizedPlugin)
	// The token still authorizes requests that attach nothing.
	if m := s.post(t, sp, `{"janus":"keepalive","token":"ab-only","transaction":"t"}`); m["janus"] != "ack" {
		t.Fatalf("keepalive with a token allowed no plugin: %v", m)
	}
	if m := adm(`{"janus":"allow_token","token":"ab-only","plugins":["janus.plugin.mcu"]}`); m["janus"] != "success" {
		t.Fatalf("allow_token: %v", m)
	}
	if m := attach(videoMCUPkg, `"token":"ab-only",`); m["janus"] != "success" {
		t.Fatalf("attach after allow_token: %v", m)
	}

	// list_tokens shows both, sorted, with their plugins.
	m := adm(`{"janus":"list_tokens"}`)
	tokens, _ := m["data"].(map[string]any)["tokens"].([]any)
	if got := fmt.Sprint(tokens); got != "[map[allowed_plugins:[janus.plugin.mcu] token:ab-only] map[allowed_plugins:[janus.plugin.audiobridge janus.plugin.mcu] token:boot]]" {
		t.Fatalf("list_tokens: %s", got)
	}

	// Revoked: refused from the next request on, on the existing session
	// too.
	if m := adm(`{"janus":"remove_token","token":"ab-only"}`); m["janus"] != "success" {
		t.Fatalf("remove_token: %v", m)
	}
	mustRefuse(t, "keepalive with a removed token", s.post(t, sp, `{"janus":"keepalive","token":"ab-only","transaction":"t"}`), CodeUnauthorized)
	mustRefuse(t, "create with a removed token", s.post(t, "/janus", `{"janus":"create","token":"ab-only","transaction":"t"}`), CodeUnauthorized)
	mustRefuse(t, "remove_token again", adm(`{"janus":"remove_token","token":"ab-only"}`), CodeUnknown)

	// Long polls carry the token in their query.
	if code := getStatus(t, s.http.URL+sp+"?maxev=1&token=ab-only"); code != http.StatusForbidden {
		t.Fatalf("long poll with a removed token: %d", code)
	}
	if m := s.post(t, sp, `{"janus":"keepalive","token":"boot","transaction":"t"}`); m["janus"] != "ack" {
		t.Fatalf("keepalive with the start-up token: %v", m)
	}
	if code := getStatus(t, s.http.URL+sp+"?maxev=1&token=boot"); code != http.StatusOK {
		t.Fatalf("long poll with the start-up token: %d", code)
	}
}

// With both on, either the API secret or a stored token authorizes a
// request, as in Janus; a token that comes with the secret still limits
// what may be attached.
func TestSecretOrToken(t *testing.T) {
	s := newServer(t, Options{APISecret: "s3cret", TokenAuth: true, Tokens: []string{"tok"}, AdminSecret: "adm"})
	admin := adminServer(t, s)
	for what, creds := range map[string]string{"the secret": `"apisecret":"s3cret",`, "the token": `"token":"tok",`} {
		if m := s.post(t, "/janus", `{"janus":"create",`+creds+`"transaction":"t"}`); m["janus"] != "success" {
			t.Fatalf("create with %s: %v", what, m)
		}
	}
	mustRefuse(t, "create with neither", s.post(t, "/janus", `{"janus":"create","apisecret":"x","token":"y","transaction":"t"}`), CodeUnauthorized)
	sid := num(s.post(t, "/janus", `{"janus":"create","apisecret":"s3cret","transaction":"t"}`), "data", "id")
	sp := fmt.Sprintf("/janus/%d", sid)
	adminPost(t, admin, "/admin", `{"janus":"disallow_token","token":"tok","plugins":["janus.plugin.audiobridge"],"admin_secret":"adm","transaction":"a"}`)
	mustRefuse(t, "attach with the secret and a disallowed token",
		s.post(t, sp, `{"janus":"attach","plugin":"janus.plugin.audiobridge","apisecret":"s3cret","token":"tok","transaction":"t"}`), CodeUnauthorizedPlugin)
	mustRefuse(t, "attach with the secret and an unknown token",
		s.post(t, sp, `{"janus":"attach","plugin":"janus.plugin.audiobridge","apisecret":"s3cret","token":"nope","transaction":"t"}`), CodeUnauthorizedPlugin)
	if m := s.post(t, sp, `{"janus":"attach","plugin":"janus.plugin.audiobridge","apisecret":"s3cret","transaction":"t"}`); m["janus"] != "success" {
		t.Fatalf("attach with the secret alone: %v", m)
	}
}
