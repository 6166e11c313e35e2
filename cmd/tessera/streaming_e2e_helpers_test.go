package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// needStreamTools fails (TESSERA_E2E=1) or skips the test when one of
// checks reports a missing tool.
func needStreamTools(t *testing.T, checks ...error) {
	t.Helper()
	if err := errors.Join(checks...); err != nil {
		if os.Getenv("TESSERA_E2E") == "1" {
			t.Fatalf("TESSERA_E2E=1: %v", err)
		}
		t.Skipf("%v; set TESSERA_E2E=1 to make this a failure", err)
	}
}

// janusData is the plugin's part of a Janus message (nil if none).
func janusData(m map[string]any) map[string]any {
	pd, _ := m["plugindata"].(map[string]any)
	data, _ := pd["data"].(map[string]any)
	return data
}

// awaitEvent returns the first plugin event on j, among those already
// read and those to come, for which ok holds (taking it off the list),
// and when it was read (for one read during an earlier call: now, so
// call this right after the call that may bring it).
func (j *janusWS) awaitEvent(what string, timeout time.Duration, ok func(data map[string]any) bool) (map[string]any, time.Time) {
	j.t.Helper()
	for i, m := range j.seen {
		if d := janusData(m); d != nil && ok(d) {
			j.seen = append(j.seen[:i:i], j.seen[i+1:]...)
			return d, time.Now()
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		_ = j.c.SetReadDeadline(deadline)
		var m map[string]any
		if err := j.c.ReadJSON(&m); err != nil {
			j.t.Fatalf("waiting for %s: %v (seen %v)", what, err, j.seen)
		}
		at := time.Now()
		if d := janusData(m); d != nil && ok(d) {
			return d, at
		}
		j.seen = append(j.seen, m)
	}
}

// streamingEvent matches a stream event of the given kind ("starting", "streaming",
// "stream-error", "stream-stopped") about stream id.
func streamingEvent(kind string, id uint64) func(map[string]any) bool {
	return func(d map[string]any) bool {
		s, _ := d["stream"].(map[string]any)
		sid, _ := s["id"].(float64)
		return d["streaming"] == kind && uint64(sid) == id
	}
}

// streamRequest sends a stream request for room 1234 with its secret
// and returns the plugin's answer.
func (j *janusWS) streamRequest(body map[string]any) map[string]any {
	j.t.Helper()
	body["request"], body["room"], body["secret"] = "stream", 1234, "adminpwd"
	ans := janusData(j.call(map[string]any{"janus": "message", "session_id": j.sid, "handle_id": j.hid, "body": body}))
	if ans == nil || ans["error"] != nil {
		j.t.Fatalf("stream %v: %v", body, ans)
	}
	return ans
}

// streamID is the id of the stream an answer or event describes.
func streamID(d map[string]any) uint64 {
	s, _ := d["stream"].(map[string]any)
	id, _ := s["id"].(float64)
	return uint64(id)
}

// hearsWithin waits until p hears freq at 0.1 or more.
func hearsWithin(t *testing.T, name string, p *testpeer.Peer, freq float64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for p.Level(freq, 500*time.Millisecond) < 0.1 {
		if time.Now().After(deadline) {
			t.Fatalf("%s does not hear %v Hz after %v (level %.3f)", name, freq, d, p.Level(freq, 500*time.Millisecond))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hearsThroughout checks that p heard freq, at 0.1 or more, in nearly
// every 100 ms of what it received since from: at most 3% of them
// quieter (a loaded machine's late packets, concealed), and most of the
// last two seconds loud (a talker lost for good fails however short the
// time since). It logs the quiet stretches; when the
// check fails, also the room's view of every participant's audio input,
// so that a silent talker shows whether its packets came late, were
// lost or never reached the room.
func hearsThroughout(t *testing.T, name string, p *testpeer.Peer, freq float64, from time.Time, addr, adminKey string) {
	t.Helper()
	const win = 4800 // 100 ms
	pcm := p.Last(time.Since(from))
	var quiet []string
	n, quietN := 0, 0
	for i := 0; i+win <= len(pcm); i += win {
		n++
		if codectest.Goertzel(pcm[i:i+win], 48000, freq) >= 0.1 {
			continue
		}
		quietN++
		at := fmt.Sprintf("+%.1fs", float64(i)/48000)
		if len(quiet) < 20 {
			quiet = append(quiet, at)
		}
	}
	end := p.Level(freq, 2*time.Second)
	t.Logf("%s hears %v Hz in %d of %d 100 ms windows since the start (quiet at %s), at %.3f in the last two seconds",
		name, freq, n-quietN, n, strings.Join(quiet, " "), end)
	if n < 100 || float64(quietN) > 0.03*float64(n) || end < 0.1 {
		t.Errorf("%s: %v Hz quiet in %d of %d windows, at %.3f in the last two seconds", name, freq, quietN, n, end)
		for _, in := range roomStats(t, addr, adminKey).Inputs {
			t.Logf("room input %+v", in)
		}
	}
}

// continuity checks that p's audio from from to to is whole: no packet
// of the mix missing, none more than 60 ms of media time after the one
// before, none arriving more than 200 ms after the one before (times
// three under the race detector), allowing for moments the whole machine
// stood still (stalls).
func continuity(t *testing.T, name string, p *testpeer.Peer, stalls *testpeer.StallProbe, from, to time.Time) {
	t.Helper()
	var arr []testpeer.Arrival
	for _, a := range p.ArrivalsSince(from) {
		if a.At.Before(to) {
			arr = append(arr, a)
		}
	}
	longest, total := stalls.Longest(from, to)
	d := to.Sub(from)
	var worst, mediaGap time.Duration
	missing := 0
	for i := 1; i < len(arr); i++ {
		worst = max(worst, arr[i].At.Sub(arr[i-1].At))
		missing += int(arr[i].Seq - arr[i-1].Seq - 1)
		mediaGap = max(mediaGap, time.Duration(arr[i].TS-arr[i-1].TS)*time.Second/48000)
	}
	rate := float64(len(arr)) / d.Seconds()
	t.Logf("%s over %v: %.1f packets/s, %d missing, longest media gap %v, longest arrival gap %v (machine stalled %v, longest %v)",
		name, d.Round(time.Millisecond), rate, missing, mediaGap, worst, total, longest)
	minRate := 49 - total.Seconds()*50/d.Seconds()
	if rate < minRate || missing > 0 || mediaGap > mediaSlack*60*time.Millisecond+longest {
		t.Errorf("%s: the meeting stalled: %.1f packets/s (want >= %.1f), %d missing, media gap %v", name, rate, minRate, missing, mediaGap)
	}
	if limit := mediaSlack*200*time.Millisecond + longest; worst > limit {
		t.Errorf("%s: a packet arrived %v after the one before (want <= %v)", name, worst, limit)
	}
}
