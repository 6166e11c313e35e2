package janus_test

import (
	"context"
	"log"
	"log/slog"
	"net/http"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/rtc"
	"github.com/tessera-mcu/tessera/signaling/janus"
)

// A Janus server on a room manager: both plugins, REST with long poll
// under /janus and WebSocket on /ws. Close ends every session before the
// rooms close.
func Example() {
	webrtc, err := rtc.NewEngine(rtc.EngineConfig{UDPPort: 8189})
	if err != nil {
		log.Fatal(err)
	}
	defer webrtc.Close()
	rooms, err := room.NewManager(room.ManagerConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer rooms.Close(context.Background())
	gw := janus.NewGateway(janus.Options{})
	defer gw.Close()
	ab := janus.NewAudioBridge(rooms, webrtc, slog.Default())
	gw.Register(ab)
	gw.Register(janus.NewVideoMCU(rooms, webrtc, slog.Default(), ab))

	mux := http.NewServeMux()
	mux.Handle("/janus", gw.HTTPHandler("/janus"))
	mux.Handle("/janus/", gw.HTTPHandler("/janus"))
	mux.Handle("/ws", gw.WSHandler())
	log.Fatal(http.ListenAndServe(":8088", mux))
}
