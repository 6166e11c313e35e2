package room

import (
	"testing"
)

// A room's summary and last stats follow it without a trip to its
// goroutine: who is in it, its flags, its recording; the manager lists
// every room by ID.
func TestSummaryFollowsRoom(t *testing.T) {
	m := newManager(t)
	r, err := m.Create(Config{ID: 20, Description: "standup", Pin: "p", Video: VideoConfig{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(Config{ID: 10, Secret: "s", Video: VideoConfig{Disabled: true}}); err != nil {
		t.Fatal(err)
	}
	want := Summary{ID: 20, Description: "standup", PinRequired: true}
	if got := r.Summary(); got != want {
		t.Fatalf("new room: %+v, want %+v", got, want)
	}
	if st := r.LastStats(); st.ID != 20 || st.Participants != 0 {
		t.Fatalf("new room's stats: %+v", st)
	}
	me, _, err := r.Join(ctxT(t), JoinRequest{Display: "a", Pin: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetRoomMuted(ctxT(t), true); err != nil {
		t.Fatal(err)
	}
	if _, err := r.StartRecording(ctxT(t), RecordOptions{Dir: t.TempDir(), Name: "s"}); err != nil {
		t.Fatal(err)
	}
	desc := "retro"
	r.Edit(&desc, nil, nil)
	want = Summary{ID: 20, Description: "retro", PinRequired: true, Participants: 1, Muted: true, Recording: true}
	if got := r.Summary(); got != want {
		t.Fatalf("busy room: %+v, want %+v", got, want)
	}
	if st := r.LastStats(); st.Participants != 1 || len(st.Inputs) != 1 || st.Inputs[0].Participant != me.ID {
		t.Fatalf("busy room's stats: %+v", st)
	}
	if _, err := r.StopRecording(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := r.Leave(ctxT(t), me.ID); err != nil {
		t.Fatal(err)
	}
	if got := r.Summary(); got.Participants != 0 || got.Recording {
		t.Fatalf("after leave and stop: %+v", got)
	}
	if st := r.LastStats(); st.Participants != 0 || len(st.Inputs) != 0 {
		t.Fatalf("stats after leave: %+v", st)
	}
	all := m.Summaries()
	if len(all) != 2 || all[0].ID != 10 || !all[0].SecretRequired || all[1].ID != 20 {
		t.Fatalf("summaries: %+v", all)
	}
	if st := m.RoomStats(); len(st) != 2 || st[0].ID != 10 || st[1].ID != 20 {
		t.Fatalf("room stats: %+v", st)
	}
}
