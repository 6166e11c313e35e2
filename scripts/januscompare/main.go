// Command januscompare sends the same Janus API requests, well-formed and
// not, to two servers over HTTP and prints what each answered, side by
// side: Janus itself (Debian's janus package, the reference) and Tessera.
//
//	go run ./scripts/januscompare -a http://127.0.0.1:8088/janus -b http://127.0.0.1:9088/janus
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
	"os"
	"time"
)

func main() {
	a := flag.String("a", "http://127.0.0.1:8088/janus", "reference server (Janus)")
	b := flag.String("b", "http://127.0.0.1:9088/janus", "server under comparison (Tessera)")
	flag.Parse()
	ra, err := run(*a)
	if err != nil {
		fmt.Fprintln(os.Stderr, "januscompare:", *a, err)
		os.Exit(2)
	}
	rb, err := run(*b)
	if err != nil {
		fmt.Fprintln(os.Stderr, "januscompare:", *b, err)
		os.Exit(2)
	}
	differ := 0
	fmt.Println("| request | Janus | Tessera | |")
	fmt.Println("|---|---|---|---|")
	for i, c := range cases {
		same := "same"
		if ra[i] != rb[i] {
			same, differ = "**differs**", differ+1
		}
		fmt.Printf("| %s | %s | %s | %s |\n", c.what, ra[i], rb[i], same)
	}
	if differ > 0 {
		os.Exit(1)
	}
}

// A case is one request: path is below the base, with S and H standing
// for the session and handle made for the run.
type testCase struct {
	what, path, body string
}

var cases = []testCase{
	{"create", "", `{"janus":"create","transaction":"t"}`},
	{"create, unknown session_id in the body", "", `{"janus":"create","session_id":12345,"transaction":"t"}`},
	{"create on the session path", "/S", `{"janus":"create","transaction":"t"}`},
	{"info", "", `{"janus":"info","transaction":"t"}`},
	{"a JSON string", "", `"create"`},
	{"a JSON array", "", `[{"janus":"create"}]`},
	{"broken JSON", "", `{"janus":`},
	{"no janus field", "", `{"transaction":"t"}`},
	{"no transaction", "", `{"janus":"create"}`},
	{"unknown request, no session", "", `{"janus":"foo","transaction":"t"}`},
	{"unknown request in a session", "/S", `{"janus":"foo","transaction":"t"}`},
	{"keepalive", "/S", `{"janus":"keepalive","transaction":"t"}`},
	{"keepalive, unknown session", "/777", `{"janus":"keepalive","transaction":"t"}`},
	{"attach, no plugin", "/S", `{"janus":"attach","transaction":"t"}`},
	{"attach, unknown plugin", "/S", `{"janus":"attach","plugin":"janus.plugin.nope","transaction":"t"}`},
	{"attach, plugin not a string", "/S", `{"janus":"attach","plugin":5,"transaction":"t"}`},
	{"message, unknown handle", "/S/888", `{"janus":"message","body":{"request":"list"},"transaction":"t"}`},
	{"message, handle ids differ", "/S/H", `{"janus":"message","handle_id":1,"body":{"request":"list"},"transaction":"t"}`},
	{"message, no body", "/S/H", `{"janus":"message","transaction":"t"}`},
	{"message, body a string", "/S/H", `{"janus":"message","body":"x","transaction":"t"}`},
	{"message, jsep of unknown type", "/S/H", `{"janus":"message","body":{"request":"configure"},"jsep":{"type":"pranswer","sdp":"v=0"},"transaction":"t"}`},
	{"message, jsep answer", "/S/H", `{"janus":"message","body":{"request":"configure"},"jsep":{"type":"answer","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"},"transaction":"t"}`},
	{"trickle, no candidate", "/S/H", `{"janus":"trickle","transaction":"t"}`},
	{"trickle, candidate and candidates", "/S/H", `{"janus":"trickle","candidate":{"candidate":"x"},"candidates":[],"transaction":"t"}`},
	{"trickle, completed", "/S/H", `{"janus":"trickle","candidate":{"completed":true},"transaction":"t"}`},
	{"audiobridge list", "/S/H", `{"janus":"message","body":{"request":"list"},"transaction":"t"}`},
	{"audiobridge exists 1234", "/S/H", `{"janus":"message","body":{"request":"exists","room":1234},"transaction":"t"}`},
	{"audiobridge exists, no room", "/S/H", `{"janus":"message","body":{"request":"exists"},"transaction":"t"}`},
	{"audiobridge exists, room a string", "/S/H", `{"janus":"message","body":{"request":"exists","room":"x"},"transaction":"t"}`},
	{"audiobridge unknown request", "/S/H", `{"janus":"message","body":{"request":"nope"},"transaction":"t"}`},
	{"audiobridge no request", "/S/H", `{"janus":"message","body":{},"transaction":"t"}`},
	{"audiobridge destroy, wrong secret", "/S/H", `{"janus":"message","body":{"request":"destroy","room":1234,"secret":"x"},"transaction":"t"}`},
	{"audiobridge kick, no such user", "/S/H", `{"janus":"message","body":{"request":"kick","room":1234,"secret":"adminpwd","id":1},"transaction":"t"}`},
	{"audiobridge create, room exists", "/S/H", `{"janus":"message","body":{"request":"create","room":1234},"transaction":"t"}`},
	{"audiobridge listparticipants, no such room", "/S/H", `{"janus":"message","body":{"request":"listparticipants","room":4242},"transaction":"t"}`},
	{"audiobridge configure before join", "/S/H", `{"janus":"message","body":{"request":"configure","muted":true},"transaction":"t"}`},
	{"audiobridge join, no such room", "/S/H", `{"janus":"message","body":{"request":"join","room":4242},"transaction":"t"}`},
	{"detach", "/S/H", `{"janus":"detach","transaction":"t"}`},
	{"destroy", "/S", `{"janus":"destroy","transaction":"t"}`},
	{"destroy again", "/S", `{"janus":"destroy","transaction":"t"}`},
}

// run sends every case and returns a short form of each answer: the Janus
// reply kind, an error code, the plugin's error code, or for an
// asynchronous request the event that follows.
func run(base string) ([]string, error) {
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
	m, _, err := post("", `{"janus":"create","transaction":"t"}`)
	if err != nil {
		return nil, err
	}
	sid := id(m)
	m, _, err = post(fmt.Sprintf("/%d", sid), `{"janus":"attach","plugin":"janus.plugin.audiobridge","transaction":"t"}`)
	if err != nil {
		return nil, err
	}
	hid := id(m)
	var out []string
	for _, tc := range cases {
		path := tc.path
		switch path {
		case "/S":
			path = fmt.Sprintf("/%d", sid)
		case "/S/H":
			path = fmt.Sprintf("/%d/%d", sid, hid)
		case "/S/888":
			path = fmt.Sprintf("/%d/888", sid)
		}
		m, status, err := post(path, tc.body)
		if err != nil {
			return nil, err
		}
		out = append(out, short(m, status))
		if m["janus"] == "ack" {
			// The answer comes as an event on the long poll.
			ev, err := c.Get(fmt.Sprintf("%s/%d?maxev=1", base, sid))
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
	if pd, ok := m["plugindata"].(map[string]any); ok {
		if d, ok := pd["data"].(map[string]any); ok {
			if code, ok := d["error_code"]; ok {
				return fmt.Sprintf("%s, plugin error %v", kind, code)
			}
			return fmt.Sprintf("%s, %v", kind, d["audiobridge"])
		}
	}
	return kind
}
