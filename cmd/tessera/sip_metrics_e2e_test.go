package main

import (
	"context"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/internal/baresip"
	"github.com/tessera-mcu/tessera/internal/e2etool"
)

// The metrics follow SIP calls: while baresip is in the demo room the
// scrape shows one call, one participant of kind rtp, one answered
// INVITE and one media port pair of the configured ten in use; after it
// hangs up, no call and no port.
func TestSIPMetrics(t *testing.T) {
	e2etool.Need(t, "baresip")
	metricsAddr, key := freeAddr(t), "scrape-key"
	_, sipPort := startSIPServer(t, "-metrics-listen", metricsAddr, "-metrics-key", key)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	phone := callRoom(t, ctx, sipPort, baresip.Options{ToneHz: 660, User: "deskphone"})
	want := func(what string, cond func(s scrape) bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			s := getMetrics(t, metricsAddr, key)
			if cond(s) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s; scrape:\n%s", what, s.raw)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	want("no call, rtp participant and port pair counted", func(s scrape) bool {
		return s.value(t, "tessera_sip_calls") == 1 &&
			s.value(t, "tessera_participants", "kind", "rtp") == 1 &&
			s.value(t, "tessera_sip_invites_total", "result", "answered") == 1 &&
			s.value(t, "tessera_sip_media_ports", "state", "used") == 1 &&
			s.value(t, "tessera_sip_media_ports", "state", "total") == 10
	})
	if err := phone.Hangup(); err != nil {
		t.Fatal(err)
	}
	want("the call is still counted after the hangup", func(s scrape) bool {
		return s.value(t, "tessera_sip_calls") == 0 &&
			s.value(t, "tessera_participants", "kind", "rtp") == 0 &&
			s.value(t, "tessera_sip_media_ports", "state", "used") == 0
	})
}
