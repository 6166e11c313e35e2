package room

import (
	"errors"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// nullWriter takes frames and drops them.
type nullWriter struct{}

func (nullWriter) WriteFrame(Frame) error { return nil }

// nullConn is a connection with no bandwidth estimate.
type nullConn struct{}

func (nullConn) TargetBitrate() int { return 0 }
func (nullConn) Close() error       { return nil }

// A receiver that decodes pictures up to some size is put on the best
// tier that fits it, keeps it when it asks for a better one, and is
// refused the composite when no tier fits.
func TestAttachCapsTierByPictureSize(t *testing.T) {
	m := newManager(t)
	r, err := m.Create(Config{Video: VideoConfig{Width: 1280, Height: 720, Tiers: []Tier{
		{Width: 1280, Height: 720, Bitrate: 1_500_000},
		{Width: 640, Height: 360, Bitrate: 600_000},
		{Width: 320, Height: 180, Bitrate: 200_000},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	sub := r.Subscribe(0)
	defer sub.Close()
	attach := func(name string, pixels int) (ParticipantID, error) {
		me, _, err := r.Join(ctxT(t), JoinRequest{Display: name})
		if err != nil {
			t.Fatal(err)
		}
		return me.ID, r.Attach(ctxT(t), me.ID, nullConn{}, Media{Video: nullWriter{}, VideoCodec: CodecH264,
			MaxPictureSize: pixels, Link: r.NewLink(me.ID), Kind: endpoint.KindRTP})
	}
	tierOf := func(id ParticipantID) Event {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case e := <-sub.C:
				if e.Kind == EventTier && e.Participant == id {
					return e
				}
			case <-deadline:
				t.Fatalf("no tier event for participant %d", id)
			}
		}
	}
	for _, c := range []struct {
		name   string
		pixels int
		tier   int
		w, h   int
	}{
		{"no limit", 0, 0, 1280, 720},
		{"level 3.1 (3600 macroblocks)", 3600 * 256, 0, 1280, 720},
		{"level 3.0 (1620 macroblocks)", 1620 * 256, 1, 640, 360},
		{"CIF (396 macroblocks)", 396 * 256, 2, 320, 180},
	} {
		id, err := attach(c.name, c.pixels)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if e := tierOf(id); e.Tier != c.tier || e.Width != c.w || e.Height != c.h {
			t.Errorf("%s: tier %d (%dx%d), want %d (%dx%d)", c.name, e.Tier, e.Width, e.Height, c.tier, c.w, c.h)
		}
		// Asking for the best tier cannot lift the viewer above its cap.
		best := 0
		if _, err := r.Update(ctxT(t), id, Update{VideoTier: &best}); err != nil {
			t.Fatal(err)
		}
		var floor int
		if err := r.withParticipant(ctxT(t), id, func(p *participant) error {
			floor = p.tier.Floor
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if floor != c.tier {
			t.Errorf("%s: after asking for tier 0 the floor is %d, want %d", c.name, floor, c.tier)
		}
	}
	// QCIF (99 macroblocks) fits no tier: no composite.
	_, err = attach("QCIF", 99*256)
	if !errors.Is(err, ErrNoTierFits) || !errors.Is(err, ErrNoVideo) || !errors.Is(err, endpoint.ErrNoComposite) {
		t.Fatalf("attach of a QCIF receiver: %v, want ErrNoTierFits", err)
	}
}
