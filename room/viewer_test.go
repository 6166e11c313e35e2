package room

import (
	"errors"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// A viewer (JoinRequest.Viewer) gets the composite and hears every
// talker, the full mix; nobody sees it: not in the participant lists, no
// event about it, no tile; it counts against the server's cap and gives
// its seat back as it leaves, quietly.
func TestViewerIsHiddenAndHearsEveryone(t *testing.T) {
	m := newLimitedManager(t, Limits{MaxParticipants: 3})
	r, err := m.Create(Config{MaxParticipants: 2})
	if err != nil {
		t.Fatal(err)
	}
	a := join(t, r, "a", testpeer.Options{ToneHz: 440, Video: "vp8", VideoColor: red})
	b := join(t, r, "b", testpeer.Options{ToneHz: 990, Video: "vp8", VideoColor: green})
	sub := r.Subscribe(1024)
	defer sub.Close()

	// The room holds two (its cap): a viewer still comes in.
	j, err := r.Enter(ctxT(t), JoinRequest{Display: "wall", Viewer: true})
	if err != nil {
		t.Fatalf("a viewer in a full room: %v", err)
	}
	if len(j.Others) != 2 {
		t.Errorf("the viewer sees %d others, want 2", len(j.Others))
	}
	viewer := connect(t, r, j.Me.ID, testpeer.Options{Video: "vp8", RecvOnly: true})

	// The full mix: both talkers at once, nobody left out.
	if !hears(viewer, 440) || !hears(viewer, 990) {
		t.Fatalf("the viewer hears 440 Hz at %.3f and 990 Hz at %.3f, want both",
			viewer.Level(440, 500*time.Millisecond), viewer.Level(990, 500*time.Millisecond))
	}
	if err := compositeShows(t, r, viewer, map[ParticipantID]codec.YUV{a.id: red, b.id: green}, 15*time.Second); err != nil {
		t.Fatalf("the viewer's composite: %v", err)
	}
	tiles, err := r.Tiles(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tile := range tiles {
		if tile.Participant == j.Me.ID {
			t.Errorf("the viewer has a tile: %+v", tiles)
		}
	}
	if len(tiles) != 2 {
		t.Errorf("%d tiles, want 2: %+v", len(tiles), tiles)
	}

	list, err := r.Participants(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		if p.ID == j.Me.ID {
			t.Errorf("the viewer is listed: %+v", list)
		}
	}
	if len(list) != 2 || r.Summary().Participants != 2 {
		t.Errorf("%d listed, summary %d, want 2", len(list), r.Summary().Participants)
	}
	if st, err := r.Stats(ctxT(t)); err != nil || st.Participants != 2 || st.Viewers != 1 {
		t.Errorf("stats: %d participants and %d viewers (%v), want 2 and 1", st.Participants, st.Viewers, err)
	}

	// The server's cap counts it: a third participant finds no seat.
	if _, _, err := r.Join(ctxT(t), JoinRequest{Display: "late"}); !errors.Is(err, ErrServerFull) {
		t.Errorf("a fourth participant on a server capped at three: %v, want ErrServerFull", err)
	}
	if n := m.Participants(); n != 3 {
		t.Errorf("the server counts %d participants, want 3", n)
	}
	if err := r.Leave(ctxT(t), j.Me.ID); err != nil {
		t.Fatal(err)
	}
	if n := m.Participants(); n != 2 {
		t.Errorf("after the viewer left the server counts %d participants, want 2", n)
	}
	if st, err := r.Stats(ctxT(t)); err != nil || st.Viewers != 0 {
		t.Errorf("stats after the viewer left: %d viewers (%v)", st.Viewers, err)
	}

	// A marker event, then every event published since the viewer came
	// is read: none names it.
	if err := r.SetRoomMuted(ctxT(t), true); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-sub.C:
			if e.Participant == j.Me.ID {
				t.Errorf("an event about the viewer: %v %+v", e.Kind, e)
			}
			if e.Kind != EventRoomMuted {
				continue
			}
		case <-deadline:
			t.Fatal("no room-muted event")
		}
		break
	}
}

// A viewer whose client sends anyway (a sendrecv offer) is neither heard
// nor seen: its voice takes no talker slot and reaches nobody.
func TestViewerThatSendsIsIgnored(t *testing.T) {
	m := newManager(t)
	r, err := m.Create(Config{})
	if err != nil {
		t.Fatal(err)
	}
	a := join(t, r, "a", testpeer.Options{ToneHz: 440, Video: "vp8", VideoColor: red})
	j, err := r.Enter(ctxT(t), JoinRequest{Display: "loud wall", Viewer: true})
	if err != nil {
		t.Fatal(err)
	}
	viewer := connect(t, r, j.Me.ID, testpeer.Options{ToneHz: 990, Video: "vp8", VideoColor: green})
	if !hears(viewer, 440) {
		t.Fatal("the viewer does not hear the participant")
	}
	// Two seconds of the viewer's tone: none of it reaches the participant.
	time.Sleep(2 * time.Second)
	if lvl := a.peer.Level(990, time.Second); lvl > 0.01 {
		t.Errorf("the participant hears the viewer's tone at %.3f", lvl)
	}
	if st, err := r.Stats(ctxT(t)); err != nil || st.Talkers != 1 {
		t.Errorf("stats: %d talkers (%v), want 1", st.Talkers, err)
	}
	if tiles, _ := r.Tiles(ctxT(t)); len(tiles) != 1 || tiles[0].Participant != a.id {
		t.Errorf("tiles %+v, want only the participant's", tiles)
	}
}
