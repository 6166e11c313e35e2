package plainrtp_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/plainrtp"
	"github.com/tessera-mcu/tessera/room/rtc"
)

// phoneRoom is a room and a plain-RTP engine for phones to call in.
type phoneRoom struct {
	r      *room.Room
	engine *plainrtp.Engine
}

const phoneCanvasW = 640

// phoneVideoConfig is a 640x360 15 fps room with a CIF-sized second
// tier, for room systems capped below the first.
func phoneVideoConfig() room.Config {
	return room.Config{Video: room.VideoConfig{Width: phoneCanvasW, Height: 360, FPS: 15, Tiers: []room.Tier{
		{Width: 640, Height: 360, Bitrate: 800_000}, {Width: 320, Height: 180, Bitrate: 300_000}}}}
}

// newPhoneRoom creates a room of cfg on a one-worker manager, and a
// plain-RTP engine on a loopback port range beside it; the manager closes
// when the test ends.
func newPhoneRoom(t *testing.T, cfg room.Config) phoneRoom {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	rooms, err := room.NewManager(room.ManagerConfig{Workers: 1, DisablePinning: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rooms.Close(context.Background()) })
	r, err := rooms.Create(cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := 30000 + 2*int(time.Now().UnixNano()%10000)
	engine, err := plainrtp.NewEngine(plainrtp.Config{PortMin: base, PortMax: base + 19, BindIP: "127.0.0.1", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return phoneRoom{r: r, engine: engine}
}

// newWebRTC starts a WebRTC engine on loopback, closed when the test ends.
func newWebRTC(t *testing.T) *rtc.Engine {
	t.Helper()
	webrtc, err := rtc.NewEngine(rtc.EngineConfig{BindIP: "127.0.0.1", DisableTCP: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = webrtc.Close() })
	return webrtc
}
