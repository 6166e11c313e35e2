package janus

import (
	"context"
	"os"
	"testing"

	"github.com/tessera-mcu/tessera/room"
)

// A recording file name must be a plain, visible name in the recording
// folder: one starting with a dot (a hidden file, "..") is refused with
// 484 and nothing is recorded or written.
func TestRecordingNameMayNotStartWithADot(t *testing.T) {
	s := newServer(t, Options{})
	dir := t.TempDir()
	o := room.RecordOptions{Dir: dir}
	ab := NewAudioBridge(s.rooms, s.webrtc, quietLog())
	mcu := NewVideoMCU(s.rooms, s.webrtc, quietLog(), ab)
	ab.SetRecording(o)
	mcu.SetRecording(o)
	s.gw.Register(ab)
	s.gw.Register(mcu)
	r, _ := s.rooms.Get(1234)
	for _, tc := range []struct {
		plugin string
		body   M
	}{
		{videoMCUPkg, M{"request": "record", "action": "start", "room": 1234, "secret": "adminpwd", "filename": ".hidden"}},
		{videoMCUPkg, M{"request": "record", "action": "start", "room": 1234, "secret": "adminpwd", "filename": ".."}},
		{audioBridgePkg, M{"request": "enable_recording", "record": true, "room": 1234, "secret": "adminpwd", "filename": ".meeting.webm"}},
	} {
		c := dialWS(t, s)
		c.send(M{"janus": "create", "transaction": "c"})
		sid := num(c.tx("c"), "data", "id")
		c.send(M{"janus": "attach", "session_id": sid, "plugin": tc.plugin, "transaction": "a"})
		hid := num(c.tx("a"), "data", "id")
		c.send(M{"janus": "message", "session_id": sid, "handle_id": hid, "transaction": "r", "body": tc.body})
		if d := pluginData(c.tx("r")); num(d, "error_code") != abInvalidElement {
			t.Errorf("%v: %v, want error 484", tc.body, d)
		}
		if _, on, _ := r.Recording(context.Background()); on {
			t.Fatalf("%v started a recording", tc.body)
		}
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("files written: %v", files)
	}
}
