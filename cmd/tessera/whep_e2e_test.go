package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/internal/e2etool"
	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room"
)

// mintToken mints a WHIP or WHEP token for room 1234 through the admin
// API.
func mintToken(t *testing.T, addr, adminKey, kind, name string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/admin/rooms/1234/tokens",
		strings.NewReader(`{"kind":"`+kind+`","name":"`+name+`","ttl":"10m"}`))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusCreated || m.Token == "" {
		t.Fatalf("minting a %s token: %d %v", kind, resp.StatusCode, err)
	}
	return m.Token
}

// roomStats reads room 1234's counters through the admin API.
func roomStats(t *testing.T, addr, adminKey string) room.RoomStats {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/admin/rooms/1234", nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st room.RoomStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// listParticipants asks the Janus API for the participants of j's room.
func listParticipants(j *janusWS) []string {
	ev := j.call(map[string]any{"janus": "message", "session_id": j.sid, "handle_id": j.hid,
		"body": map[string]any{"request": "listparticipants", "room": j.roomID()}})
	pd, _ := ev["plugindata"].(map[string]any)
	data, _ := pd["data"].(map[string]any)
	list, _ := data["participants"].([]any)
	var out []string
	for _, p := range list {
		m, _ := p.(map[string]any)
		d, _ := m["display"].(string)
		out = append(out, d)
	}
	return out
}

type whepStats struct {
	FramesDecoded int    `json:"framesDecoded"`
	Width         int    `json:"width"`
	Height        int    `json:"height"`
	AudioPackets  int    `json:"audioPackets"`
	Connection    string `json:"connection"`
}

// A headless Chromium page with nothing but fetch and RTCPeerConnection
// (scripts/e2e/whep.html, served from another origin) plays room 1234
// through WHEP: it decodes the 1280x720 composite and receives audio,
// while the Janus participant sending them sees nobody new; DELETE ends
// the session and the server lets the viewer go.
func TestWHEPInChromium(t *testing.T) {
	node, chromium := needBrowser(t)
	const adminKey = "adm"
	addr := startServer(t, "-admin-key", adminKey)
	alice, _ := joinMCU(t, addr, "alice", testpeer.Options{ToneHz: 440, Video: "vp8", VideoColor: codec.RGB(220, 30, 30)})
	token := mintToken(t, addr, adminKey, "whep", "lobby screen")

	page := httptest.NewServer(http.FileServer(http.Dir(e2eDir)))
	defer page.Close()
	sc := e2etool.StartScript(t, node, e2eDir, []string{"CHROMIUM=" + chromium},
		"whep-chromium.mjs", page.URL+"/whep.html", "http://"+addr+"/whep/1234", token)
	next := func() map[string]json.RawMessage {
		t.Helper()
		l := sc.Next(t, 60*time.Second)
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("browser script said %q", l)
		}
		return m
	}

	playing := next()
	if string(playing["event"]) != `"playing"` {
		t.Fatalf("the page did not play: %v", playing)
	}
	var first, second whepStats
	_ = json.Unmarshal(playing["first"], &first)
	_ = json.Unmarshal(playing["second"], &second)
	t.Logf("getStats: %+v, then %+v", first, second)
	if second.FramesDecoded <= first.FramesDecoded || first.FramesDecoded == 0 {
		t.Errorf("framesDecoded %d then %d: not rising", first.FramesDecoded, second.FramesDecoded)
	}
	if second.Width != 1280 || second.Height != 720 {
		t.Errorf("the page decodes %dx%d, want 1280x720", second.Width, second.Height)
	}
	if second.AudioPackets <= first.AudioPackets || first.AudioPackets == 0 {
		t.Errorf("audio packets %d then %d: not arriving", first.AudioPackets, second.AudioPackets)
	}
	if errs := string(playing["errors"]); errs != "[]" {
		t.Errorf("page errors: %s", errs)
	}
	// Hidden: Janus lists alice alone; the admin API counts a viewer.
	if names := listParticipants(alice); len(names) != 1 || names[0] != "alice" {
		t.Errorf("Janus lists %q, want alice alone", names)
	}
	if st := roomStats(t, addr, adminKey); st.Participants != 1 || st.Viewers != 1 {
		t.Errorf("room stats: %d participants, %d viewers; want 1 and 1", st.Participants, st.Viewers)
	}

	if _, err := io.WriteString(sc.Stdin, "stop\n"); err != nil {
		t.Fatal(err)
	}
	stopped := next()
	if string(stopped["status"]) != "200" {
		t.Errorf("DELETE answered %s", stopped["status"])
	}
	deadline := time.Now().Add(5 * time.Second)
	for roomStats(t, addr, adminKey).Viewers != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the server still holds the viewer 5 s after DELETE")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st := roomStats(t, addr, adminKey); st.Participants != 1 {
		t.Errorf("after DELETE: %d participants, want 1", st.Participants)
	}
	for _, ev := range alice.seen {
		if b, _ := json.Marshal(ev); strings.Contains(string(b), "lobby screen") {
			t.Errorf("alice was told of the viewer: %s", b)
		}
	}
}
