package whip

import (
	"errors"
	"testing"
	"time"

	"github.com/tessera-mcu/tessera/room"
)

func TestTokensExpireAndAreBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	ts := NewTokens(2)
	ts.now = func() time.Time { return now }
	g := Grant{Room: room.RoomID(7), Kind: KindWHEP, Name: "lobby"}
	a, err := ts.Mint(g, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := ts.Check(a.Token); !ok || got != g {
		t.Fatalf("Check: %+v %v", got, ok)
	}
	if _, ok := ts.Check(a.Token + "x"); ok {
		t.Error("a changed token passes")
	}
	if _, err := ts.Mint(g, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Mint(g, time.Minute); !errors.Is(err, ErrTooManyTokens) {
		t.Errorf("a third token in a store of two: %v", err)
	}
	now = now.Add(time.Minute)
	if _, ok := ts.Check(a.Token); ok {
		t.Error("an expired token passes")
	}
	if _, err := ts.Mint(g, time.Minute); err != nil {
		t.Errorf("minting once one expired: %v", err)
	}
	for _, bad := range []struct {
		g   Grant
		ttl time.Duration
		err error
	}{
		{Grant{Kind: "rtmp"}, time.Minute, ErrInvalidKind},
		{g, -time.Second, ErrInvalidTTL},
		{g, MaxTTL + time.Second, ErrInvalidTTL},
		{Grant{Kind: KindWHIP, Name: string(make([]byte, MaxNameLen+1))}, time.Minute, ErrInvalidName},
	} {
		if _, err := NewTokens(0).Mint(bad.g, bad.ttl); !errors.Is(err, bad.err) {
			t.Errorf("Mint(%+v, %v): %v, want %v", bad.g.Kind, bad.ttl, err, bad.err)
		}
	}
}

func TestParseSDPFrag(t *testing.T) {
	f, err := parseSDPFrag("a=ice-ufrag:abc\r\na=ice-pwd:xyz\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:a0\r\n" +
		"a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\na=end-of-candidates\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if f.ufrag != "abc" || f.pwd != "xyz" || len(f.candidates) != 2 {
		t.Fatalf("%+v", f)
	}
	c := f.candidates[0]
	if c.Candidate != "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host" || c.SDPMid == nil || *c.SDPMid != "a0" {
		t.Errorf("candidate %+v", c)
	}
	if f.candidates[1].Candidate != "" {
		t.Errorf("end-of-candidates became %q", f.candidates[1].Candidate)
	}
	if _, err := parseSDPFrag("garbage"); err == nil {
		t.Error("garbage parsed")
	}
}
