// Command januscompare sends the same Janus API requests, well-formed and
// not, to two servers over HTTP and prints what each answered, side by
// side: Janus itself (Debian's janus package, the reference) and Tessera.
//
//	go run ./scripts/januscompare -a http://127.0.0.1:8088/janus -b http://127.0.0.1:9088/janus
//
// With -apisecret both servers are expected to run with that API secret
// and stored-token authentication on: every request carries the secret
// unless the case is about credentials, and the secret and token cases
// run too. With -admin-a, -admin-b and -admin-secret the admin API cases
// run as well (they add and remove the tokens the token cases use).
//
// scripts/januscompare.sh installs Janus, starts both servers on loopback
// and runs it. The exit status is 1 when an answer differs.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

func main() {
	a := flag.String("a", "http://127.0.0.1:8088/janus", "reference server (Janus)")
	b := flag.String("b", "http://127.0.0.1:9088/janus", "server under comparison (Tessera)")
	adminA := flag.String("admin-a", "", "reference server's admin API (Janus: http://127.0.0.1:7088/admin)")
	adminB := flag.String("admin-b", "", "compared server's admin API")
	flag.StringVar(&creds.apiSecret, "apisecret", "", "API secret both servers require (turns on the secret and token cases)")
	flag.StringVar(&creds.adminSecret, "admin-secret", "", "admin_secret of both admin APIs")
	flag.Parse()
	all := selectCases(*adminA != "" && *adminB != "")
	ra, err := run(*a, *adminA, all)
	if err != nil {
		fmt.Fprintln(os.Stderr, "januscompare:", *a, err)
		os.Exit(2)
	}
	rb, err := run(*b, *adminB, all)
	if err != nil {
		fmt.Fprintln(os.Stderr, "januscompare:", *b, err)
		os.Exit(2)
	}
	differ := 0
	fmt.Println("| request | Janus | Tessera | |")
	fmt.Println("|---|---|---|---|")
	for i, c := range all {
		same := "same"
		if ra[i] != rb[i] {
			same, differ = "**differs**", differ+1
		}
		fmt.Printf("| %s | %s | %s | %s |\n", c.what, ra[i], rb[i], same)
	}
	fmt.Printf("\n%d of %d requests answer the same.\n", len(all)-differ, len(all))
	if differ > 0 {
		os.Exit(1)
	}
}

// creds are the secrets the servers were started with.
var creds struct {
	apiSecret, adminSecret string
}

// selectCases lists the cases to run: the core ones, then with an API
// secret the credential cases, and with admin APIs the admin ones.
func selectCases(admin bool) []testCase {
	out := append([]testCase(nil), cases...)
	if creds.apiSecret != "" {
		out = append(out, authCases...)
		if admin {
			out = append(out, adminCases...)
		}
	}
	return out
}

// A case is one request: path is below the base, with S and H standing
// for the session and handle made for the run.
type testCase struct {
	what, path, body string
	// admin: sent to the admin API, with the admin secret.
	admin bool
	// bare: sent as written, without the secret the run adds.
	bare bool
	// get: a GET (a long poll) rather than a POST of body.
	get bool
	// reopen: a new session and handle first (the last were destroyed).
	reopen bool
}

var cases = []testCase{
	{what: "create", path: "", body: `{"janus":"create","transaction":"t"}`},
	{what: "create, unknown session_id in the body", path: "", body: `{"janus":"create","session_id":12345,"transaction":"t"}`},
	{what: "create on the session path", path: "/S", body: `{"janus":"create","transaction":"t"}`},
	{what: "info", path: "", body: `{"janus":"info","transaction":"t"}`},
	{what: "a JSON string", path: "", body: `"create"`},
	{what: "a JSON array", path: "", body: `[{"janus":"create"}]`},
	{what: "broken JSON", path: "", body: `{"janus":`},
	{what: "no janus field", path: "", body: `{"transaction":"t"}`},
	{what: "no transaction", path: "", body: `{"janus":"create"}`},
	{what: "unknown request, no session", path: "", body: `{"janus":"foo","transaction":"t"}`},
	{what: "unknown request in a session", path: "/S", body: `{"janus":"foo","transaction":"t"}`},
	{what: "keepalive", path: "/S", body: `{"janus":"keepalive","transaction":"t"}`},
	{what: "keepalive, unknown session", path: "/777", body: `{"janus":"keepalive","transaction":"t"}`},
	{what: "attach, no plugin", path: "/S", body: `{"janus":"attach","transaction":"t"}`},
	{what: "attach, unknown plugin", path: "/S", body: `{"janus":"attach","plugin":"janus.plugin.nope","transaction":"t"}`},
	{what: "attach, plugin not a string", path: "/S", body: `{"janus":"attach","plugin":5,"transaction":"t"}`},
	{what: "message, unknown handle", path: "/S/888", body: `{"janus":"message","body":{"request":"list"},"transaction":"t"}`},
	{what: "message, handle ids differ", path: "/S/H", body: `{"janus":"message","handle_id":1,"body":{"request":"list"},"transaction":"t"}`},
	{what: "message, no body", path: "/S/H", body: `{"janus":"message","transaction":"t"}`},
	{what: "message, body a string", path: "/S/H", body: `{"janus":"message","body":"x","transaction":"t"}`},
	{what: "message, jsep of unknown type", path: "/S/H", body: `{"janus":"message","body":{"request":"configure"},"jsep":{"type":"pranswer","sdp":"v=0"},"transaction":"t"}`},
	{what: "message, jsep answer", path: "/S/H", body: `{"janus":"message","body":{"request":"configure"},"jsep":{"type":"answer","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"},"transaction":"t"}`},
	{what: "trickle, no candidate", path: "/S/H", body: `{"janus":"trickle","transaction":"t"}`},
	{what: "trickle, candidate and candidates", path: "/S/H", body: `{"janus":"trickle","candidate":{"candidate":"x"},"candidates":[],"transaction":"t"}`},
	{what: "trickle, completed", path: "/S/H", body: `{"janus":"trickle","candidate":{"completed":true},"transaction":"t"}`},
	{what: "audiobridge list", path: "/S/H", body: `{"janus":"message","body":{"request":"list"},"transaction":"t"}`},
	{what: "audiobridge exists 1234", path: "/S/H", body: `{"janus":"message","body":{"request":"exists","room":1234},"transaction":"t"}`},
	{what: "audiobridge exists, no room", path: "/S/H", body: `{"janus":"message","body":{"request":"exists"},"transaction":"t"}`},
	{what: "audiobridge exists, room a string", path: "/S/H", body: `{"janus":"message","body":{"request":"exists","room":"x"},"transaction":"t"}`},
	{what: "audiobridge unknown request", path: "/S/H", body: `{"janus":"message","body":{"request":"nope"},"transaction":"t"}`},
	{what: "audiobridge no request", path: "/S/H", body: `{"janus":"message","body":{},"transaction":"t"}`},
	{what: "audiobridge destroy, wrong secret", path: "/S/H", body: `{"janus":"message","body":{"request":"destroy","room":1234,"secret":"x"},"transaction":"t"}`},
	{what: "audiobridge kick, no such user", path: "/S/H", body: `{"janus":"message","body":{"request":"kick","room":1234,"secret":"adminpwd","id":1},"transaction":"t"}`},
	{what: "audiobridge create, room exists", path: "/S/H", body: `{"janus":"message","body":{"request":"create","room":1234},"transaction":"t"}`},
	{what: "audiobridge listparticipants, no such room", path: "/S/H", body: `{"janus":"message","body":{"request":"listparticipants","room":4242},"transaction":"t"}`},
	{what: "audiobridge configure before join", path: "/S/H", body: `{"janus":"message","body":{"request":"configure","muted":true},"transaction":"t"}`},
	{what: "audiobridge join, no such room", path: "/S/H", body: `{"janus":"message","body":{"request":"join","room":4242},"transaction":"t"}`},
	{what: "detach", path: "/S/H", body: `{"janus":"detach","transaction":"t"}`},
	{what: "destroy", path: "/S", body: `{"janus":"destroy","transaction":"t"}`},
	{what: "destroy again", path: "/S", body: `{"janus":"destroy","transaction":"t"}`},
}

// run sends every case and returns a short form of each answer: the Janus
// reply kind, an error code, the plugin's error code, or for an
// asynchronous request the event that follows.
func run(base, adminBase string, all []testCase) ([]string, error) {
	c := &http.Client{Timeout: 40 * time.Second}
	post := func(path, body string) (map[string]any, int, error) {
		resp, err := c.Post(base+path, "application/json", bytes.NewBufferString(body))
		if err != nil {
			return nil, 0, err
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if json.Unmarshal(data, &m) != nil {
			return nil, resp.StatusCode, nil
		}
		return m, resp.StatusCode, nil
	}
	// open makes the session and handle S and H stand for.
	var sid, hid uint64
	open := func() error {
		m, _, err := post("", withSecret(`{"janus":"create","transaction":"t"}`, "apisecret", creds.apiSecret))
		if err != nil {
			return err
		}
		sid = id(m)
		m, _, err = post(fmt.Sprintf("/%d", sid), withSecret(`{"janus":"attach","plugin":"janus.plugin.audiobridge","transaction":"t"}`, "apisecret", creds.apiSecret))
		hid = id(m)
		return err
	}
	if err := open(); err != nil {
		return nil, err
	}
	var out []string
	for _, tc := range all {
		if tc.reopen {
			if err := open(); err != nil {
				return nil, err
			}
		}
		path := tc.path
		switch path {
		case "/S":
			path = fmt.Sprintf("/%d", sid)
		case "/S/H":
			path = fmt.Sprintf("/%d/%d", sid, hid)
		case "/S/888":
			path = fmt.Sprintf("/%d/888", sid)
		}
		body := tc.body
		switch {
		case tc.bare:
		case tc.admin:
			body = withSecret(body, "admin_secret", creds.adminSecret)
		default:
			body = withSecret(body, "apisecret", creds.apiSecret)
		}
		var m map[string]any
		var status int
		var err error
		switch {
		case tc.get:
			resp, err := c.Get(base + path)
			if err != nil {
				return nil, err
			}
			resp.Body.Close()
			status = resp.StatusCode
		case tc.admin:
			m, status, err = send(c, adminBase+path, body)
		default:
			m, status, err = post(path, body)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, short(m, status))
		if m["janus"] == "ack" {
			// The answer comes as an event on the long poll.
			ev, err := c.Get(fmt.Sprintf("%s/%d?maxev=1&apisecret=%s", base, sid, url.QueryEscape(creds.apiSecret)))
			if err != nil {
				return nil, err
			}
			var e map[string]any
			_ = json.NewDecoder(ev.Body).Decode(&e)
			ev.Body.Close()
			out[len(out)-1] += " → " + short(e, ev.StatusCode)
		}
	}
	return out, nil
}

// send posts body to url and decodes the JSON answer.
func send(c *http.Client, to, body string) (map[string]any, int, error) {
	resp, err := c.Post(to, "application/json", bytes.NewBufferString(body))
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return nil, resp.StatusCode, nil
	}
	return m, resp.StatusCode, nil
}

// withSecret adds field k (a secret) to a JSON object body that lacks
// it; other bodies, and an empty secret, leave it as it is.
func withSecret(body, k, secret string) string {
	var m map[string]any
	if secret == "" || json.Unmarshal([]byte(body), &m) != nil || m == nil {
		return body
	}
	if _, ok := m[k]; ok {
		return body
	}
	m[k] = secret
	out, _ := json.Marshal(m)
	return string(out)
}

func id(m map[string]any) uint64 {
	d, _ := m["data"].(map[string]any)
	f, _ := d["id"].(float64)
	return uint64(f)
}

func short(m map[string]any, status int) string {
	if m == nil {
		return fmt.Sprintf("HTTP %d, no JSON", status)
	}
	kind, _ := m["janus"].(string)
	if e, ok := m["error"].(map[string]any); ok && kind == "error" {
		return fmt.Sprintf("error %v", e["code"])
	}
	d, _ := m["response"].(map[string]any) // message_plugin
	if pd, ok := m["plugindata"].(map[string]any); ok {
		d, _ = pd["data"].(map[string]any)
	}
	if d != nil {
		if code, ok := d["error_code"]; ok {
			return fmt.Sprintf("%s, plugin error %v", kind, code)
		}
		return fmt.Sprintf("%s, %v", kind, d["audiobridge"])
	}
	// list_tokens: how many tokens (their plugins differ with the
	// servers' plugins).
	if data, ok := m["data"].(map[string]any); ok {
		if ts, ok := data["tokens"].([]any); ok {
			return fmt.Sprintf("%s, %d tokens", kind, len(ts))
		}
	}
	return kind
}
