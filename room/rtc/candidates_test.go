package rtc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond every 20 ms until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// newRoom starts an engine, a manager and an audio-only room, all closed
// when the test ends.
func newRoom(t *testing.T) (*Engine, *room.Room) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := NewEngine(EngineConfig{BindIP: "127.0.0.1", DisableTCP: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	m, err := room.NewManager(room.ManagerConfig{Workers: 1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = m.Close(context.Background())
		_ = e.Close()
	})
	r, err := m.Create(room.Config{Video: room.VideoConfig{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	return e, r
}

// remoteCandidateCount is how many remote candidates the participant's
// ICE agent holds.
func remoteCandidateCount(t *testing.T, r *room.Room, id room.ParticipantID) int {
	t.Helper()
	conn, err := r.Connection(ctxT(t), id)
	c, ok := conn.(*peerConn)
	if err != nil || !ok {
		t.Fatalf("participant's connection: %v %T", err, conn)
	}
	n := 0
	for _, s := range c.pc.GetStats() {
		if c, ok := s.(webrtc.ICECandidateStats); ok && c.Type == webrtc.StatsTypeRemoteCandidate {
			n++
		}
	}
	return n
}

func testCandidates(n, from int) []Candidate {
	cs := make([]Candidate, n)
	for i := range cs {
		// TEST-NET-1 (RFC 5737); the engine's port is on loopback, so
		// no check leaves the machine.
		k := from + i
		cs[i] = Candidate{Candidate: fmt.Sprintf("candidate:%d 1 udp 2130706431 192.0.2.%d %d typ host", k, 1+k%250, 20000+k/250)}
	}
	return cs
}

// withCandidates adds n host candidates to the first m-line of an SDP.
func withCandidates(sdp string, n int) string {
	var b strings.Builder
	for _, c := range testCandidates(n, 100000) {
		b.WriteString("a=" + c.Candidate + "\r\n")
	}
	i := strings.Index(sdp, "\r\nm=")
	j := strings.Index(sdp[i+2:], "\r\nm=")
	at := len(sdp)
	if j >= 0 {
		at = i + 2 + j + 2
	}
	return sdp[:at] + b.String() + sdp[at:]
}

// A media session takes at most MaxRemoteCandidates of its client's
// candidates: a batch of 5,000 is handled in one trip to the room (at
// once) and only the first MaxRemoteCandidates reach the ICE agent;
// repeats cost nothing; an offer that would go beyond the bound is
// refused; an ICE restart starts the count again.
func TestRemoteCandidatesBounded(t *testing.T) {
	e, r := newRoom(t)
	me, _, err := r.Join(ctxT(t), room.JoinRequest{Display: "flood"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AddCandidates(ctxT(t), r.Member(me.ID), testCandidates(1, 0)); !errors.Is(err, ErrInvalidCandidate) {
		t.Fatalf("candidate before any offer: %v", err)
	}
	peer, err := testpeer.New(testpeer.Options{Silent: true})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	offer, own, err := peer.OfferTrickle()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range own {
		}
	}()
	if err := checkOffer(withCandidates(offer, MaxRemoteCandidates+1)); !errors.Is(err, ErrTooManyCandidates) || !errors.Is(err, ErrInvalidSDP) {
		t.Fatalf("offer with %d candidates: %v", MaxRemoteCandidates+1, err)
	}
	ans, err := e.Offer(ctxT(t), r.Member(me.ID), withCandidates(offer, 5))
	answer := ans.SDP
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	added, err := AddCandidates(ctxT(t), r.Member(me.ID), testCandidates(5000, 0))
	took := time.Since(start)
	if !errors.Is(err, ErrTooManyCandidates) || added != MaxRemoteCandidates-5 {
		t.Fatalf("5000 candidates: %d added, %v; want %d and ErrTooManyCandidates", added, err, MaxRemoteCandidates-5)
	}
	if took > 2*time.Second {
		t.Fatalf("5000 candidates took %v", took)
	}
	if !eventually(2*time.Second, func() bool { return remoteCandidateCount(t, r, me.ID) == MaxRemoteCandidates }) {
		t.Fatalf("the agent holds %d remote candidates, want %d", remoteCandidateCount(t, r, me.ID), MaxRemoteCandidates)
	}
	if added, err := AddCandidates(ctxT(t), r.Member(me.ID), testCandidates(10, 0)); err != nil || added != 0 {
		t.Fatalf("repeated candidates: %d added, %v", added, err)
	}
	if err := AddCandidate(ctxT(t), r.Member(me.ID), testCandidates(1, 6000)[0]); !errors.Is(err, ErrTooManyCandidates) {
		t.Fatalf("one more candidate: %v", err)
	}
	if err := AddCandidate(ctxT(t), r.Member(me.ID), Candidate{}); err != nil {
		t.Fatalf("end of candidates: %v", err)
	}

	// A renegotiation in the same ICE session cannot bring more.
	peer.PC.OnICECandidate(func(*webrtc.ICECandidate) {})
	if err := peer.Accept(answer); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Offer(ctxT(t), r.Member(me.ID), withCandidates(offer, 6)); !errors.Is(err, ErrTooManyCandidates) {
		t.Fatalf("renegotiation adding a candidate: %v", err)
	}

	// An ICE restart: the agent forgets the old candidates, and so does
	// the count.
	restart, err := peer.PC.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := peer.PC.SetLocalDescription(restart); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Offer(ctxT(t), r.Member(me.ID), restart.SDP); err != nil {
		t.Fatalf("ICE restart: %v", err)
	}
	// The restart offer may already carry the peer's first new candidates
	// (gathered while it was made): they count.
	inOffer := map[string]bool{}
	for _, line := range strings.Split(restart.SDP, "\n") {
		if strings.HasPrefix(line, "a=candidate:") {
			inOffer[strings.TrimSpace(line)] = true
		}
	}
	want := MaxRemoteCandidates - len(inOffer)
	if added, err := AddCandidates(ctxT(t), r.Member(me.ID), testCandidates(want, 7000)); err != nil || added != want {
		t.Fatalf("candidates after an ICE restart (%d in the offer): %d added, %v", len(inOffer), added, err)
	}
	// The agent holds the trickled ones and, by the time it has parsed
	// them, the offer's own: never more than the cap.
	held := func() int { return remoteCandidateCount(t, r, me.ID) }
	if !eventually(2*time.Second, func() bool { return held() >= want }) || held() > MaxRemoteCandidates {
		t.Fatalf("after the ICE restart the agent holds %d remote candidates, want %d..%d", held(), want, MaxRemoteCandidates)
	}
}

func checkOffer(sdp string) error {
	_, err := CheckOffer(sdp, false)
	return err
}

// Check reports the media port gone once the engine is closed.
func TestCheckMediaPort(t *testing.T) {
	e, err := NewEngine(EngineConfig{BindIP: "127.0.0.1", DisableTCP: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Check(); err != nil {
		t.Fatalf("open port: %v", err)
	}
	_ = e.Close()
	if err := e.Check(); !errors.Is(err, ErrPortGone) {
		t.Fatalf("closed port: %v", err)
	}
}
