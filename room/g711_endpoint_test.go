package room_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/g711"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// g711Tone is a telephone's microphone: 20 ms G.711 packets of a tone,
// RTP clock 8 kHz, paced in real time.
type g711Tone struct {
	conn *localConn
	enc  *g711.Encoder
	pt   uint8
	freq float64
	pos  int
	seq  uint16
	next time.Time
}

func (s *g711Tone) ReadRTP() (*rtp.Packet, error) {
	pcm, err := nextFrame(s.conn, &s.next, s.freq, &s.pos)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, g711.FrameBytes)
	if _, err := s.enc.Encode(pcm, buf); err != nil {
		return nil, err
	}
	s.seq++
	// Timestamps start near the wrap of the 8 kHz clock, which the room
	// scales to 48 kHz.
	return &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: s.pt, SequenceNumber: s.seq,
		Timestamp: uint32(s.seq)*g711.FrameBytes - 40000, SSRC: 7}, Payload: buf}, nil
}

// g711Sink decodes the G.711 mix the room sends, checking each frame is
// one 20 ms payload.
type g711Sink struct {
	mu  sync.Mutex
	dec *g711.Decoder
	pcm []int16
	bad int
}

func (s *g711Sink) WriteFrame(f endpoint.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dec == nil {
		return io.ErrClosedPipe // the room still sends after the test let go
	}
	buf := make([]int16, g711.MaxFrameSamples)
	n, err := s.dec.Decode(f.Data, buf)
	if err != nil || len(f.Data) != g711.FrameBytes {
		s.bad++
		return err
	}
	s.pcm = append(s.pcm, buf[:n]...)
	return nil
}

func (s *g711Sink) level(freq float64) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pcm) < 48000 {
		return 0
	}
	return codectest.Goertzel(s.pcm[len(s.pcm)-24000:], 48000, freq)
}

// joinG711 joins r as a telephone: audio only, G.711 both ways (law
// endpoint.CodecPCMU or CodecPCMA), sending a tone of freq.
func joinG711(t *testing.T, r *room.Room, name, law string, freq float64) (room.ParticipantID, *g711Sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	me, _, err := r.Join(ctx, room.JoinRequest{Display: name})
	if err != nil {
		t.Fatal(err)
	}
	l, pt := g711.ULaw, uint8(0)
	if law == endpoint.CodecPCMA {
		l, pt = g711.ALaw, 8
	}
	enc, err := g711.NewEncoder(l)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := g711.NewDecoder(l)
	if err != nil {
		t.Fatal(err)
	}
	conn := &localConn{closed: make(chan struct{})}
	sink := &g711Sink{dec: dec}
	m := r.Member(me.ID)
	link := m.NewLink()
	if err := m.Attach(ctx, conn, endpoint.Media{Audio: sink, AudioCodec: law, Sends: true, Link: link, Kind: endpoint.KindRTP}); err != nil {
		t.Fatal(err)
	}
	link.State(conn, endpoint.ConnUp)
	mic := &g711Tone{conn: conn, enc: enc, pt: pt, freq: freq, next: time.Now()}
	done := make(chan struct{})
	go func() { defer close(done); link.ReadAudioCodec(conn, mic, law) }()
	t.Cleanup(func() {
		_ = conn.Close()
		<-done
		_ = enc.Close()
		sink.mu.Lock()
		_ = dec.Close()
		sink.dec = nil
		sink.mu.Unlock()
	})
	return me.ID, sink
}

// A WebRTC-style participant (Opus) and two telephones, one on µ-law and
// one on A-law, in one room: each hears the other two and not itself,
// and every frame a telephone gets is one 20 ms G.711 payload.
func TestG711Participants(t *testing.T) {
	m, err := room.NewManager(room.ManagerConfig{Workers: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	r, err := m.Create(room.Config{Video: room.VideoConfig{Tiers: []room.Tier{{Width: 640, Height: 360, Bitrate: 800_000}}, Width: 640, Height: 360}})
	if err != nil {
		t.Fatal(err)
	}
	web := joinLocal(t, r, "web", 440, codec.RGB(220, 30, 30))
	_, pcmu := joinG711(t, r, "pcmu", endpoint.CodecPCMU, 660)
	_, pcma := joinG711(t, r, "pcma", endpoint.CodecPCMA, 880)

	type check struct {
		who  string
		lvl  func(float64) float64
		hear []float64
		own  float64
	}
	checks := []check{
		{"web", web.audio.level, []float64{660, 880}, 440},
		{"pcmu", pcmu.level, []float64{440, 880}, 660},
		{"pcma", pcma.level, []float64{440, 660}, 880},
	}
	var last error
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		last = nil
		for _, c := range checks {
			for _, f := range c.hear {
				if lvl := c.lvl(f); lvl < 0.15 {
					last = errors.New(c.who + " does not hear a tone yet")
				}
			}
		}
		if last == nil {
			break
		}
	}
	if last != nil {
		t.Fatal(last)
	}
	for _, c := range checks {
		if lvl := c.lvl(c.own); lvl > 0.01 {
			t.Errorf("%s hears its own tone at %.3f", c.who, lvl)
		}
		t.Logf("%s hears %.0f Hz at %.3f and %.0f Hz at %.3f, itself at %.4f", c.who, c.hear[0], c.lvl(c.hear[0]), c.hear[1], c.lvl(c.hear[1]), c.lvl(c.own))
	}
	for name, s := range map[string]*g711Sink{"pcmu": pcmu, "pcma": pcma} {
		s.mu.Lock()
		if s.bad > 0 {
			t.Errorf("%s got %d frames that were not one 20 ms G.711 payload", name, s.bad)
		}
		s.mu.Unlock()
	}
}
