package room

import (
	"context"
	"sync"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/tessera-mcu/tessera/room/rtc"
)

// testEngines holds the WebRTC engine each test manager's rooms take
// their participants' connections through.
var testEngines sync.Map // *Manager → *rtc.Engine

// newManagerWith starts a manager and a WebRTC engine for it, both
// closed when the test ends.
func newManagerWith(t testing.TB, ec rtc.EngineConfig, mc ManagerConfig) *Manager {
	t.Helper()
	if ec.Logger == nil {
		ec.Logger = testLogger(t)
	}
	if mc.Logger == nil {
		mc.Logger = testLogger(t)
	}
	e, err := rtc.NewEngine(ec)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(mc)
	if err != nil {
		_ = e.Close()
		t.Fatal(err)
	}
	testEngines.Store(m, e)
	t.Cleanup(func() {
		_ = m.Close(context.Background())
		_ = e.Close()
		testEngines.Delete(m)
	})
	return m
}

// engineOf is the WebRTC engine of a room's manager.
func engineOf(r *Room) *rtc.Engine {
	e, _ := testEngines.Load(r.mgr)
	return e.(*rtc.Engine)
}

// offerTo applies a participant's offer through its room's engine.
func offerTo(ctx context.Context, r *Room, id ParticipantID, offer string) (string, error) {
	a, err := engineOf(r).Offer(ctx, r.Member(id), offer)
	return a.SDP, err
}

// candidate converts what a pion peer trickles.
func candidate(c webrtc.ICECandidateInit) rtc.Candidate {
	return rtc.Candidate{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
}

// addCandidate trickles one of a pion peer's candidates to its
// participant.
func addCandidate(ctx context.Context, r *Room, id ParticipantID, c webrtc.ICECandidateInit) error {
	return rtc.AddCandidate(ctx, r.Member(id), candidate(c))
}
