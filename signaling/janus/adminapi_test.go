package janus

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// adminClient sends admin requests with the admin secret.
type adminClient struct {
	t      *testing.T
	s      *server
	admin  *server
	secret string
}

func newAdminClient(t *testing.T, opts Options) *adminClient {
	opts.AdminSecret = "adm"
	s := newServer(t, opts)
	return &adminClient{t: t, s: s, admin: &server{http: adminServer(t, s)}, secret: "adm"}
}

// do sends body (a JSON object) to path with the admin secret and a
// transaction.
func (a *adminClient) do(path, body string) M {
	a.t.Helper()
	return a.admin.post(a.t, path, strings.Replace(body, "{", `{"admin_secret":"`+a.secret+`","transaction":"a",`, 1))
}

// session creates a session with a handle on the AudioBridge.
func (a *adminClient) session() (sid, hid uint64) {
	a.t.Helper()
	sid = num(a.s.post(a.t, "/janus", `{"janus":"create","transaction":"t"}`), "data", "id")
	hid = num(a.s.post(a.t, fmt.Sprintf("/janus/%d", sid), `{"janus":"attach","plugin":"janus.plugin.audiobridge","opaque_id":"op-1","transaction":"t"}`), "data", "id")
	if sid == 0 || hid == 0 {
		a.t.Fatal("no session or handle")
	}
	return sid, hid
}

// ids reads a JSON array of IDs.
func ids(v any) []uint64 {
	list, _ := v.([]any)
	out := make([]uint64, 0, len(list))
	for _, x := range list {
		f, _ := x.(float64)
		out = append(out, uint64(f))
	}
	return out
}

// Every admin request but info and ping needs the admin secret; without
// one configured none passes. Requests at a path that does not serve them
// are 457, unknown sessions 458, unknown handles 459.
func TestAdminAPIAuthAndPaths(t *testing.T) {
	a := newAdminClient(t, Options{})
	sid, hid := a.session()
	for what, body := range map[string]string{
		"missing":           `{"janus":"list_sessions","transaction":"t"}`,
		"wrong":             `{"janus":"list_sessions","admin_secret":"ad","transaction":"t"}`,
		"number":            `{"janus":"list_sessions","admin_secret":7,"transaction":"t"}`,
		"apisecret instead": `{"janus":"list_sessions","apisecret":"adm","transaction":"t"}`,
	} {
		mustRefuse(t, "admin secret "+what, a.admin.post(t, "/admin", body), CodeUnauthorized)
	}
	mustRefuse(t, "list_handles without the secret", a.admin.post(t, fmt.Sprintf("/admin/%d", sid), `{"janus":"list_handles","transaction":"t"}`), CodeUnauthorized)
	if m := a.admin.post(t, "/admin", `{"janus":"info","transaction":"t"}`); m["janus"] != "server_info" {
		t.Fatalf("admin info: %v", m)
	}
	if m := a.admin.post(t, "/admin", `{"janus":"ping","transaction":"t"}`); m["janus"] != "pong" {
		t.Fatalf("admin ping: %v", m)
	}
	sp, hp := fmt.Sprintf("/admin/%d", sid), fmt.Sprintf("/admin/%d/%d", sid, hid)
	for _, c := range []struct {
		path, body string
		code       int
	}{
		{"/admin", `{"janus":"foo"}`, CodeInvalidRequestPath},
		{"/admin", `{"janus":"create"}`, CodeInvalidRequestPath},
		{"/admin", `{"janus":"list_handles"}`, CodeInvalidRequestPath},
		{"/admin/777", `{"janus":"list_handles"}`, CodeSessionNotFound},
		{sp, `{"janus":"list_sessions"}`, CodeInvalidRequestPath},
		{sp, `{"janus":"handle_info"}`, CodeInvalidRequestPath},
		{sp + "/888", `{"janus":"handle_info"}`, CodeHandleNotFound},
		{hp, `{"janus":"list_handles"}`, CodeInvalidRequestPath},
		{sp, `{"janus":"message_plugin","plugin":"janus.plugin.audiobridge","request":{"request":"list"}}`, CodeInvalidRequestPath},
	} {
		mustRefuse(t, c.path+" "+c.body, a.do(c.path, c.body), c.code)
	}

	// No admin secret configured: the admin API refuses everything.
	s := newServer(t, Options{})
	open := &server{http: adminServer(t, s)}
	mustRefuse(t, "no admin secret configured", open.post(t, "/admin", `{"janus":"list_sessions","admin_secret":"","transaction":"t"}`), CodeUnauthorized)
}

// list_sessions, list_handles and handle_info describe what is there;
// handle_info adds the participant's room and media counters once it
// joined.
func TestAdminAPISessionsAndHandleInfo(t *testing.T) {
	a := newAdminClient(t, Options{TokenAuth: true, Tokens: []string{"tk"}})
	sid := num(a.s.post(t, "/janus", `{"janus":"create","token":"tk","transaction":"t"}`), "data", "id")
	hid := num(a.s.post(t, fmt.Sprintf("/janus/%d", sid), `{"janus":"attach","plugin":"janus.plugin.audiobridge","opaque_id":"op-1","token":"tk","transaction":"t"}`), "data", "id")
	if m := a.do("/admin", `{"janus":"list_sessions"}`); !slices.Equal(ids(m["sessions"]), []uint64{sid}) {
		t.Fatalf("list_sessions: %v (session %d)", m, sid)
	}
	if m := a.do(fmt.Sprintf("/admin/%d", sid), `{"janus":"list_handles"}`); !slices.Equal(ids(m["handles"]), []uint64{hid}) || num(m, "session_id") != sid {
		t.Fatalf("list_handles: %v (handle %d)", m, hid)
	}
	// The session may travel in the body, as in Janus.
	if m := a.do("/admin", fmt.Sprintf(`{"janus":"list_handles","session_id":%d}`, sid)); !slices.Equal(ids(m["handles"]), []uint64{hid}) {
		t.Fatalf("list_handles, session in the body: %v", m)
	}

	hp := fmt.Sprintf("/admin/%d/%d", sid, hid)
	m := a.do(hp, `{"janus":"handle_info"}`)
	info, _ := m["info"].(map[string]any)
	if m["janus"] != "success" || num(m, "handle_id") != hid || info == nil {
		t.Fatalf("handle_info: %v", m)
	}
	if num(info, "session_id") != sid || num(info, "handle_id") != hid || info["plugin"] != audioBridgePkg ||
		info["opaque_id"] != "op-1" || info["token"] != "tk" || info["session_transport"] != "janus.transport.http" || num(info, "session_timeout") != 60 {
		t.Fatalf("handle_info: %v", info)
	}
	if ps, _ := info["plugin_specific"].(map[string]any); ps["state"] != "idle" || ps["started"] != false {
		t.Fatalf("handle_info of a handle in no room: %v", ps)
	}

	// Joined: the room, the participant and its media counters.
	a.s.post(t, fmt.Sprintf("/janus/%d/%d", sid, hid), `{"janus":"message","token":"tk","body":{"request":"join","room":1234,"display":"Ada"},"transaction":"j"}`)
	ps := map[string]any{}
	for deadline := time.Now().Add(5 * time.Second); ps["state"] != "inroom" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		info, _ := a.do(hp, `{"janus":"handle_info","plugin_only":true}`)["info"].(map[string]any)
		ps, _ = info["plugin_specific"].(map[string]any)
	}
	if num(ps, "room") != 1234 || num(ps, "id") == 0 || ps["display"] != "Ada" || ps["muted"] != false {
		t.Fatalf("handle_info of a joined handle: %v", ps)
	}
	media, _ := ps["media"].(map[string]any)
	audio, _ := media["audio"].(map[string]any)
	if audio == nil || num(audio, "participant") != num(ps, "id") {
		t.Fatalf("handle_info media: %v", media)
	}
	for _, k := range []string{"packets", "lost", "sent", "decode_errors", "buffered"} {
		if _, ok := audio[k]; !ok {
			t.Errorf("handle_info media.audio lacks %s: %v", k, audio)
		}
	}
}

// set_session_timeout changes the timeout sessions die of (and info
// reports it); set_log_level maps Janus's 0-7 onto the shared level.
func TestAdminAPISessionTimeoutAndLogLevel(t *testing.T) {
	level := new(slog.LevelVar)
	a := newAdminClient(t, Options{LogLevel: level})
	sid, _ := a.session()
	mustRefuse(t, "no timeout", a.do("/admin", `{"janus":"set_session_timeout"}`), CodeMissingMandatory)
	mustRefuse(t, "negative timeout", a.do("/admin", `{"janus":"set_session_timeout","timeout":-1}`), CodeInvalidElementType)
	if m := a.do("/admin", `{"janus":"set_session_timeout","timeout":1}`); m["janus"] != "success" || num(m, "timeout") != 1 {
		t.Fatalf("set_session_timeout: %v", m)
	}
	if info := a.s.post(t, "/janus", `{"janus":"info","transaction":"t"}`); num(info, "session-timeout") != 1 {
		t.Fatalf("info after set_session_timeout: %v", info["session-timeout"])
	}
	// The reaper looks every 2 s: the idle session is gone within a few.
	for deadline := time.Now().Add(6 * time.Second); a.s.gw.session(sid) != nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the session outlived a 1 s timeout")
		}
	}

	for n, want := range map[int]slog.Level{7: slog.LevelDebug, 5: slog.LevelDebug, 4: slog.LevelInfo, 3: slog.LevelWarn, 2: slog.LevelError, 1: slog.LevelError} {
		if m := a.do("/admin", fmt.Sprintf(`{"janus":"set_log_level","level":%d}`, n)); m["janus"] != "success" || num(m, "level") != uint64(n) {
			t.Fatalf("set_log_level %d: %v", n, m)
		}
		if level.Level() != want {
			t.Errorf("Janus level %d: %v, want %v", n, level.Level(), want)
		}
	}
	a.do("/admin", `{"janus":"set_log_level","level":0}`)
	if level.Level() <= slog.LevelError {
		t.Errorf("Janus level 0 still logs errors: %v", level.Level())
	}
	mustRefuse(t, "level 8", a.do("/admin", `{"janus":"set_log_level","level":8}`), CodeInvalidElementType)
	mustRefuse(t, "level a string", a.do("/admin", `{"janus":"set_log_level","level":"debug"}`), CodeInvalidElementType)
	mustRefuse(t, "no level", a.do("/admin", `{"janus":"set_log_level"}`), CodeMissingMandatory)
}

// message_plugin runs room management requests on the plugin named, with
// Janus's envelope: a room created this way exists, and is gone once
// destroyed; a room's secret is still needed.
func TestAdminAPIMessagePlugin(t *testing.T) {
	a := newAdminClient(t, Options{})
	msg := func(plugin, request string) M {
		t.Helper()
		return a.do("/admin", fmt.Sprintf(`{"janus":"message_plugin","plugin":%q,"request":%s}`, plugin, request))
	}
	resp := func(m M) M {
		t.Helper()
		if m["janus"] != "success" {
			t.Fatalf("message_plugin: %v", m)
		}
		r, _ := m["response"].(map[string]any)
		return r
	}
	if r := resp(msg(audioBridgePkg, `{"request":"create","room":4321,"description":"Board","secret":"b0ard"}`)); r["audiobridge"] != "created" || num(r, "room") != 4321 {
		t.Fatalf("create: %v", r)
	}
	rm, err := a.s.rooms.Get(4321)
	if err != nil || rm.Config().Description != "Board" {
		t.Fatalf("the room created through the admin API: %v, %v", rm, err)
	}
	if r := resp(msg(audioBridgePkg, `{"request":"exists","room":4321}`)); r["exists"] != true {
		t.Fatalf("exists: %v", r)
	}
	if r := resp(msg(audioBridgePkg, `{"request":"list"}`)); !strings.Contains(fmt.Sprint(r["list"]), "Board") {
		t.Fatalf("list: %v", r)
	}
	if r := resp(msg(audioBridgePkg, `{"request":"listparticipants","room":4321}`)); r["audiobridge"] != "participants" {
		t.Fatalf("listparticipants: %v", r)
	}
	if r := resp(msg(audioBridgePkg, `{"request":"edit","room":4321,"secret":"b0ard","new_description":"Board 2"}`)); r["audiobridge"] != "edited" {
		t.Fatalf("edit: %v", r)
	}
	if r := resp(msg(audioBridgePkg, `{"request":"destroy","room":4321,"secret":"wrong"}`)); num(r, "error_code") != abUnauthorized {
		t.Fatalf("destroy with a wrong secret: %v", r)
	}
	if r := resp(msg(audioBridgePkg, `{"request":"join","room":4321}`)); num(r, "error_code") != abInvalidRequest {
		t.Fatalf("join through the admin API: %v", r)
	}
	if r := resp(msg(audioBridgePkg, `{"request":"destroy","room":4321,"secret":"b0ard"}`)); r["audiobridge"] != "destroyed" {
		t.Fatalf("destroy: %v", r)
	}
	if _, err := a.s.rooms.Get(4321); err == nil {
		t.Fatal("the room outlived destroy")
	}
	if r := resp(a.do("/admin", `{"janus":"message_plugin","plugin":"janus.plugin.audiobridge"}`)); num(r, "error_code") != abMissingElement {
		t.Fatalf("no request: %v", r)
	}
	mustRefuse(t, "no plugin", a.do("/admin", `{"janus":"message_plugin","request":{"request":"list"}}`), CodeMissingMandatory)
	mustRefuse(t, "unknown plugin", msg("janus.plugin.nope", `{"request":"list"}`), CodePluginNotFound)
	mustRefuse(t, "request a string", msg(audioBridgePkg, `"list"`), CodeInvalidElementType)
}

// The token requests answer 490 while token authentication is off, and
// check their fields as Janus does.
func TestAdminAPITokenRequests(t *testing.T) {
	off := newAdminClient(t, Options{})
	for _, req := range []string{"list_tokens", "add_token", "remove_token", "allow_token", "disallow_token"} {
		mustRefuse(t, req+" with token auth off", off.do("/admin", fmt.Sprintf(`{"janus":%q,"token":"x","plugins":["janus.plugin.audiobridge"]}`, req)), CodeUnknown)
	}
	a := newAdminClient(t, Options{TokenAuth: true})
	for _, c := range []struct {
		body string
		code int
	}{
		{`{"janus":"add_token"}`, CodeMissingMandatory},
		{`{"janus":"add_token","token":5}`, CodeInvalidElementType},
		{`{"janus":"add_token","token":"x","plugins":"janus.plugin.audiobridge"}`, CodeInvalidElementType},
		{`{"janus":"allow_token","token":"x","plugins":["janus.plugin.audiobridge"]}`, CodeTokenNotFound},
		{`{"janus":"disallow_token","token":"x","plugins":["janus.plugin.audiobridge"]}`, CodeTokenNotFound},
		{`{"janus":"remove_token","token":"x"}`, CodeUnknown},
		{`{"janus":"remove_token"}`, CodeMissingMandatory},
	} {
		mustRefuse(t, c.body, a.do("/admin", c.body), c.code)
	}
	// Without plugins a token may attach to every plugin.
	m := a.do("/admin", `{"janus":"add_token","token":"all"}`)
	plugins, _ := m["data"].(map[string]any)["plugins"].([]any)
	if len(plugins) != 1 || plugins[0] != audioBridgePkg {
		t.Fatalf("add_token without plugins: %v", m)
	}
	for _, c := range []struct {
		body string
		code int
	}{
		{`{"janus":"allow_token","token":"all"}`, CodeInvalidElementType},
		{`{"janus":"allow_token","token":"all","plugins":[]}`, CodeInvalidElementType},
		{`{"janus":"allow_token","token":"all","plugins":["janus.plugin.nope"]}`, CodeInvalidElementType},
		{`{"janus":"disallow_token","token":"all","plugins":[5]}`, CodeInvalidElementType},
	} {
		mustRefuse(t, c.body, a.do("/admin", c.body), c.code)
	}
	if got := a.s.gw.tokens.list(); len(got) != 1 || !slices.Equal(got[0].Plugins, []string{audioBridgePkg}) {
		t.Fatalf("tokens after refused changes: %v", got)
	}
}
