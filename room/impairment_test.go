package room

import (
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/internal/testpeer"
)

// impairedRoom is a room with a camera whose media goes through a relay,
// a camera connected directly, and a viewer of the composite.
type impairedRoom struct {
	r       *Room
	relay   *testpeer.Relay
	relayed member // its media through the relay
	direct  member
	viewer  member
}

// newImpairedRoom builds it: both cameras send-only, the relayed one as
// opts says, the direct one alternating yellow and purple every half
// second (a tile that visibly keeps changing), one viewer on one encoder.
func newImpairedRoom(t *testing.T, opts testpeer.Options) *impairedRoom {
	t.Helper()
	m := newManager(t)
	r, err := m.Create(Config{Video: VideoConfig{Tiers: []Tier{{1280, 720, 1_500_000}}}})
	if err != nil {
		t.Fatal(err)
	}
	relay, err := testpeer.NewRelay(testpeer.RelayConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the peers' cleanups: closed after them.
	t.Cleanup(func() { _ = relay.Close() })
	opts.Relay, opts.SendOnly = relay, true
	ir := &impairedRoom{r: r, relay: relay}
	ir.relayed = join(t, r, "relayed", opts)
	ir.direct = join(t, r, "direct", testpeer.Options{Video: "h264", VideoColor: yellow, VideoColor2: purple, SendOnly: true})
	ir.viewer = join(t, r, "viewer", testpeer.Options{Video: "h264", RecvOnly: true})
	if err := compositeShows(t, r, ir.viewer.peer, map[ParticipantID]codec.YUV{ir.relayed.id: opts.VideoColor}, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if s := relay.Stats(testpeer.ToServer); s.Forwarded == 0 || relay.Stats(testpeer.ToClient).Forwarded == 0 {
		t.Fatalf("the relayed camera's media bypasses the relay: %+v", s)
	}
	return ir
}

// tile returns the colour the viewer's latest composite shows in a
// participant's tile, and the tile.
func (ir *impairedRoom) tile(t *testing.T, id ParticipantID) (codec.YUV, TileInfo, bool) {
	f := ir.viewer.peer.VideoFrame()
	if f == nil {
		return codec.YUV{}, TileInfo{}, false
	}
	tiles, _ := ir.r.Tiles(ctxT(t))
	for _, tile := range tiles {
		if tile.Participant == id {
			return tileColor(f, tile, ir.r.Config().Video.Width), tile, true
		}
	}
	return codec.YUV{}, TileInfo{}, false
}

// input returns the room's counters of a participant's camera.
func (ir *impairedRoom) input(t *testing.T, id ParticipantID) VideoInputStats {
	st, _ := ir.r.Stats(ctxT(t))
	for _, in := range st.VideoInputs {
		if in.Participant == id {
			return in
		}
	}
	return VideoInputStats{}
}

// composed is how many frames the room's one encoder has made.
func (ir *impairedRoom) composed(t *testing.T) uint64 {
	st, _ := ir.r.Stats(ctxT(t))
	var n uint64
	for _, o := range st.VideoOutputs {
		n += o.Frames
	}
	return n
}

// colourWatch tells which of two colours a tile shows and counts how often
// that changes.
type colourWatch struct {
	a, b    codec.YUV
	last    int // 0 none yet, 1 a, 2 b
	changes int
	lastAt  time.Time // when the last change was seen
	longest time.Duration
}

func (w *colourWatch) see(c codec.YUV, now time.Time) {
	var which int
	switch {
	case c.Distance(w.a) < 30:
		which = 1
	case c.Distance(w.b) < 30:
		which = 2
	default:
		return
	}
	if which == w.last {
		return
	}
	if w.last != 0 {
		w.changes++
		if !w.lastAt.IsZero() {
			w.longest = max(w.longest, now.Sub(w.lastAt))
		}
		w.lastAt = now
	}
	w.last = which
}

// A camera's link goes down both ways for 2 s. While it is down the
// composite keeps its frame rate and the other camera's tile keeps
// changing; the cut camera switches from red to blue halfway through, and
// within 1 s of the link coming back the viewer sees blue in its tile
// (the room asks for a keyframe as soon as packets arrive again after the
// gap).
func TestCameraRecoversAfterOutage(t *testing.T) {
	for _, vc := range []string{"vp8", "h264"} {
		t.Run(vc, func(t *testing.T) {
			ir := newImpairedRoom(t, testpeer.Options{Video: vc, VideoColor: red})
			time.Sleep(time.Second) // past the start-up keyframes
			before := ir.input(t, ir.relayed.id)
			const outage = 2 * time.Second
			start := time.Now()
			end := start.Add(outage)
			ir.relay.Outage(outage)
			made0, at0 := ir.composed(t), time.Now()
			direct := colourWatch{a: yellow, b: purple}
			switched := false
			var made1 uint64
			var at1 time.Time
			var decodedAgain, shown time.Time
			decoded := before.Decoded
			for now := time.Now(); now.Before(end.Add(5 * time.Second)); now = time.Now() {
				if !switched && now.Sub(start) >= outage/2 {
					ir.relayed.peer.SetVideoColor(blue)
					switched = true
				}
				if now.Before(end) {
					if c, _, ok := ir.tile(t, ir.direct.id); ok {
						direct.see(c, now)
					}
				} else if made1 == 0 {
					made1, at1 = ir.composed(t), time.Now()
				}
				if in := ir.input(t, ir.relayed.id); decodedAgain.IsZero() && in.Decoded > decoded {
					if now.Before(end) {
						decoded = in.Decoded // decoded before the cut took hold
					} else {
						decodedAgain = now
					}
				}
				if c, _, ok := ir.tile(t, ir.relayed.id); ok && !now.Before(end) && c.Distance(blue) < 24 {
					shown = now
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			after := ir.input(t, ir.relayed.id)
			up, down := ir.relay.Stats(testpeer.ToServer), ir.relay.Stats(testpeer.ToClient)
			t.Logf("relay: to server %+v, to client %+v", up, down)
			t.Logf("relayed camera during and after the outage: %d frames, %d keyframes, %d lost, %d dropped, %d decode errors, %d PLIs",
				after.Frames-before.Frames, after.Keyframes-before.Keyframes, after.Lost-before.Lost,
				after.Dropped-before.Dropped, after.DecodeErrors-before.DecodeErrors, after.PLIs-before.PLIs)
			if up.Cut == 0 || down.Cut == 0 {
				t.Errorf("the outage cut nothing: to server %+v, to client %+v", up, down)
			}

			// Recovery.
			if shown.IsZero() {
				t.Fatalf("the relayed camera's tile does not show its new colour 5 s after the outage (decoded again: %v)", !decodedAgain.IsZero())
			}
			took := shown.Sub(end)
			if !decodedAgain.IsZero() {
				t.Logf("the room decoded the camera again %v after the outage, the viewer saw its new colour %v after it",
					decodedAgain.Sub(end).Round(time.Millisecond), took.Round(time.Millisecond))
			}
			if limit := allowed(time.Second, end, shown); took > limit {
				t.Errorf("the camera's new picture showed %v after the outage, want <= %v", took, limit)
			}

			// The rest of the composite during the outage.
			fps := float64(made1-made0) / at1.Sub(at0).Seconds()
			seen := float64(ir.viewer.peer.VideoFramesSince(start)-ir.viewer.peer.VideoFramesSince(end)) / outage.Seconds()
			_, stalled := stalls.Longest(at0, at1)
			min := 29.0/timeSlack - stalled.Seconds()*30/at1.Sub(at0).Seconds()
			t.Logf("during the outage: composed %.1f fps, the viewer decoded %.1f fps, the direct camera's tile changed %d times (machine stalled %v)",
				fps, seen, direct.changes, stalled)
			if fps < min {
				t.Errorf("composite made at %.1f fps during the outage, want >= %.1f", fps, min)
			}
			// The viewer decodes in this same process, on the same two cores.
			if seen < min-2 {
				t.Errorf("the viewer decoded %.1f fps during the outage, want >= %.1f", seen, min-2)
			}
			// It changes colour every 0.53 s: three times in 2 s.
			if direct.changes < 2 {
				t.Errorf("the direct camera's tile changed %d times in the 2 s outage, want >= 2", direct.changes)
			}
		})
	}
}

// A camera's link loses 8% of its datagrams both ways (its packets, and
// the room's NACKs and keyframe requests to it). The camera sends grainy
// pictures (several packets a frame, keyframes of a dozen) and no audio,
// so what the relay loses is video. Retransmissions repair most losses
// (far fewer frames are given up than packets lost); keyframe requests
// repair the rest, and the tile keeps changing colour as the camera does.
func TestCameraUnderRandomLoss(t *testing.T) {
	for _, vc := range []string{"vp8", "h264"} {
		t.Run(vc, func(t *testing.T) {
			ir := newImpairedRoom(t, testpeer.Options{Video: vc, VideoColor: red, VideoColor2: green, VideoNoise: 24, Silent: true})
			before := ir.input(t, ir.relayed.id)
			up0 := ir.relay.Stats(testpeer.ToServer)
			sent0 := ir.relayed.peer.VideoFramesSent()
			ir.relay.Impair(testpeer.BothWays, testpeer.Impairment{Loss: 0.08})
			const span = 8 * time.Second
			start := time.Now()
			w := colourWatch{a: red, b: green}
			for now := start; now.Sub(start) < span; now = time.Now() {
				if c, _, ok := ir.tile(t, ir.relayed.id); ok {
					w.see(c, now)
				}
				time.Sleep(20 * time.Millisecond)
			}
			end := time.Now()
			w.longest = max(w.longest, end.Sub(w.lastAt))
			after := ir.input(t, ir.relayed.id)
			sent := ir.relayed.peer.VideoFramesSent() - sent0
			up, down := ir.relay.Stats(testpeer.ToServer), ir.relay.Stats(testpeer.ToClient)
			lost, givenUp := up.Lost-up0.Lost, after.Lost-before.Lost
			decoded := after.Decoded - before.Decoded
			t.Logf("relay: to server %+v, to client %+v", up, down)
			t.Logf("relayed camera: %d of its packets lost, %d frames given up; %d of %d pictures sent decoded, %d dropped, %d decode errors, %d PLIs, %d keyframes",
				lost, givenUp, decoded, sent, after.Dropped-before.Dropped, after.DecodeErrors-before.DecodeErrors,
				after.PLIs-before.PLIs, after.Keyframes-before.Keyframes)
			t.Logf("its tile changed colour %d times in %v, longest without a change %v", w.changes, span, w.longest.Round(time.Millisecond))
			if lost == 0 || down.Lost == 0 {
				t.Fatalf("the relay lost nothing: to server %+v, to client %+v", up, down)
			}
			if givenUp > lost/2 {
				t.Errorf("%d frames given up for %d packets lost: retransmissions repair too little", givenUp, lost)
			}
			// Counted against what the camera sent: a busy machine holds the
			// camera up as well.
			if decoded < sent/2 {
				t.Errorf("%d of %d pictures sent decoded, want at least half", decoded, sent)
			}
			// A change every 0.53 s: 15 in 8 s.
			if w.changes < 8 {
				t.Errorf("the tile changed colour %d times in %v, want >= 8", w.changes, span)
			}
			// A loss that retransmission does not repair costs a keyframe
			// request; one whose keyframe is lost as well waits for the
			// next request (pliInterval).
			if limit := allowed(3*time.Second, start, end); w.longest > limit {
				t.Errorf("the tile kept one colour for %v, want <= %v", w.longest, limit)
			}
		})
	}
}
