package whip

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/rtc"
	"github.com/tessera-mcu/tessera/signaling/lockout"
)

const secret = "s3cret"

// fixture is a running server: a room manager, the WebRTC engine, the
// endpoints on a loopback HTTP server, and one room with a secret.
type fixture struct {
	engine *rtc.Engine
	rooms  *room.Manager
	room   *room.Room
	tokens *Tokens
	srv    *Server
	http   *httptest.Server
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := rtc.NewEngine(rtc.EngineConfig{BindIP: "127.0.0.1", DisableTCP: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	m, err := room.NewManager(room.ManagerConfig{Workers: 2, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Create(room.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{engine: e, rooms: m, room: r, tokens: NewTokens(0)}
	f.srv = New(Options{Rooms: m, WebRTC: e, Tokens: f.tokens, Logger: quiet,
		Lockout:    lockout.New(lockout.Options{MaxFailures: 3, Logger: quiet}),
		ICEServers: []string{"stun:127.0.0.1:3478"}})
	router := chi.NewRouter()
	f.srv.Mount(router)
	f.http = httptest.NewServer(router)
	t.Cleanup(func() {
		f.http.Close()
		f.srv.Close()
		_ = m.Close(context.Background())
		_ = e.Close()
	})
	return f
}

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

// do sends a request to the fixture's server and reads the whole answer.
func (f *fixture) do(t *testing.T, method, path, token, ctype, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, f.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// participant joins the room the way the Janus plugins do: a pion peer
// whose offer goes to the engine.
func (f *fixture) participant(t *testing.T, name string, opts testpeer.Options) (room.ParticipantID, *testpeer.Peer) {
	t.Helper()
	me, _, err := f.room.Join(ctxT(t), room.JoinRequest{Display: name})
	if err != nil {
		t.Fatal(err)
	}
	p, err := testpeer.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	offer, err := p.Offer()
	if err != nil {
		t.Fatal(err)
	}
	ans, err := f.engine.Offer(ctxT(t), f.room.Member(me.ID), offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Accept(ans.SDP); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitConnected(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	return me.ID, p
}

// client makes a pion peer and POSTs its offer to path; the answer is
// applied when the server made a session (201).
func (f *fixture) client(t *testing.T, path, token string, opts testpeer.Options) (*testpeer.Peer, *http.Response, string) {
	t.Helper()
	p, err := testpeer.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	offer, err := p.Offer()
	if err != nil {
		t.Fatal(err)
	}
	resp, body := f.do(t, http.MethodPost, path, token, "application/sdp", offer)
	if resp.StatusCode == http.StatusCreated {
		if err := p.Accept(body); err != nil {
			t.Fatal(err)
		}
	}
	return p, resp, body
}

// names lists the room's participants by display name.
func (f *fixture) names(t *testing.T) []string {
	t.Helper()
	list, err := f.room.Participants(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range list {
		out = append(out, p.Display)
	}
	return out
}

// tileColor is the mean colour of the middle of a participant's tile in a
// decoded composite.
func tileColor(f *codec.Frame, t room.TileInfo, canvasW int) codec.YUV {
	s := float64(f.Width) / float64(canvasW)
	x, y := int(float64(t.X)*s), int(float64(t.Y)*s)
	w, h := int(float64(t.Width)*s), int(float64(t.Height)*s)
	return f.Mean(codec.R(x+w*3/10, y+h*3/10, w*4/10, h*3/10))
}

// showsTile waits until viewer's composite shows participant id's tile
// in colour c.
func (f *fixture) showsTile(t *testing.T, viewer *testpeer.Peer, id room.ParticipantID, c codec.YUV) bool {
	t.Helper()
	return eventually(15*time.Second, func() bool {
		tiles, err := f.room.Tiles(ctxT(t))
		fr := viewer.VideoFrame()
		if err != nil || fr == nil {
			return false
		}
		for _, tile := range tiles {
			if tile.Participant == id {
				return tileColor(fr, tile, f.room.Config().Video.Width).Distance(c) <= 24
			}
		}
		return false
	})
}
