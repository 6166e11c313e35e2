package plainrtp_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/plainrtp"
)

// call lets phone call in and join the room; it returns the session and
// the participant's ID.
func (pr phoneRoom) call(ctx context.Context, t *testing.T, phone *videoPhone) (*plainrtp.Session, room.ParticipantID) {
	call, err := pr.engine.Offer(phone.offer(), plainrtp.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = call.Close() })
	joined, _, err := pr.r.Join(ctx, room.JoinRequest{Display: "room system"})
	if err != nil {
		t.Fatal(err)
	}
	if err := call.Attach(ctx, pr.r.Member(joined.ID)); err != nil {
		t.Fatal(err)
	}
	phone.start(call)
	return call, joined.ID
}

// waitColours waits until every phone's decoded composite shows every
// participant's colour in its tile.
func (pr phoneRoom) waitColours(ctx context.Context, t *testing.T, phones []*videoPhone, want map[room.ParticipantID]codec.YUV) {
	t.Helper()
	var last error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		tiles, err := pr.r.Tiles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		shown := 0
		last = nil
		for i, p := range phones {
			for _, tile := range tiles {
				w, ok := want[tile.Participant]
				if !ok {
					continue
				}
				c, _, _, decoded := p.colourAt(tile, phoneCanvasW)
				if decoded && c.Distance(w) < 30 {
					shown++
				} else if last == nil {
					last = fmt.Errorf("phone %d: tile of %d is %v, want %v (decoded %v)", i, tile.Participant, c, w, decoded)
				}
			}
		}
		if last == nil && shown == len(phones)*len(want) {
			return
		}
	}
	t.Fatal(last)
}

// A room system that takes H.264 only in single NAL unit mode
// (packetization-mode 0) shares the 320x180 tier with a mode-1 room
// system: it is answered in mode 0, receives only single NAL unit
// packets (types 1-23) none larger than 1200 bytes, none dropped for its
// size, and decodes the composite with both cameras' colours. The mode-1
// system on the same tier's encoder decodes the same.
func TestRoomSystemVideoMode0(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	pr := newPhoneRoom(t, phoneVideoConfig())
	red, blue := codec.RGB(220, 30, 30), codec.RGB(30, 40, 220)

	single := newVideoPhone(t, red)
	single.fmtp, single.mode0 = "profile-level-id=42e00c", true // CIF, no packetization-mode: mode 0
	call0, id0 := pr.call(ctx, t, single)
	if v, ok := call0.Video(); !ok || v.Mode != 0 || v.MaxPictureSize() != 396*256 {
		t.Fatalf("video %+v, %v:\n%s", v, ok, call0.Answer())
	}
	if ans := call0.Answer(); !strings.Contains(ans, "a=fmtp:97 profile-level-id=42e01f;packetization-mode=0\r\n") {
		t.Fatalf("the answer does not state mode 0:\n%s", ans)
	}
	fu := newVideoPhone(t, blue)
	call1, id1 := pr.call(ctx, t, fu)
	if v, _ := call1.Video(); v.Mode != 1 {
		t.Fatalf("the second phone's video %+v", v)
	}

	pr.waitColours(ctx, t, []*videoPhone{single, fu}, map[room.ParticipantID]codec.YUV{id0: red, id1: blue})
	// Two more seconds of pictures, keyframes included.
	call0.PictureFastUpdate()
	time.Sleep(2 * time.Second)

	single.mu.Lock()
	defer single.mu.Unlock()
	if single.last == nil || single.last.Width != 320 || single.last.Height != 180 {
		t.Errorf("the mode-0 phone does not receive the 320x180 tier")
	}
	total := 0
	for typ, n := range single.nalTypes {
		if typ < 1 || typ > 23 {
			t.Errorf("the mode-0 phone received %d packets of NAL type %d", n, typ)
		}
		total += n
	}
	if total == 0 || single.nalTypes[5] == 0 || single.nalTypes[1] == 0 {
		t.Errorf("the mode-0 phone received NAL types %v: want IDR and non-IDR slices", single.nalTypes)
	}
	if single.largest > 1200 {
		t.Errorf("the mode-0 phone received a packet of %d bytes", single.largest)
	}
	if st := call0.Stats(); st.Video.TooLarge != 0 || st.Video.Pictures == 0 {
		t.Errorf("mode-0 video stats %+v", st.Video)
	}
}

// A room system at level 3.1 (720p) whose a=imageattr takes at most
// 352x288 receives the 320x180 tier, not 640x360.
func TestRoomSystemImageattr(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	pr := newPhoneRoom(t, phoneVideoConfig())
	red := codec.RGB(220, 30, 30)
	phone := newVideoPhone(t, red)
	phone.fmtp = "profile-level-id=42e01f;packetization-mode=1"
	phone.attrs = []string{"a=imageattr:97 send [x=320,y=240] recv [x=[176:176:352],y=[144:144:288]]"}
	call, id := pr.call(ctx, t, phone)
	if v, _ := call.Video(); v.MaxPictureSize() != 352*288 {
		t.Fatalf("video %+v: max picture %d", v, v.MaxPictureSize())
	}
	pr.waitColours(ctx, t, []*videoPhone{phone}, map[room.ParticipantID]codec.YUV{id: red})
	_, w, h, _ := phone.colourAt(room.TileInfo{}, phoneCanvasW)
	if w != 320 || h != 180 {
		t.Errorf("the phone receives %dx%d, want the 320x180 tier", w, h)
	}
}
