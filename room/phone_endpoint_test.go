package room_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/g711"
	"github.com/tessera-mcu/tessera/codec/g722"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// phoneEncoder and phoneDecoder are a telephone codec's halves (G.711 or
// G.722: 160 bytes per 20 ms, six 48 kHz samples a byte).
type phoneEncoder interface {
	Encode(pcm []int16, dst []byte) (int, error)
	Close() error
}

type phoneDecoder interface {
	Decode(payload []byte, pcm []int16) (int, error)
	Close() error
}

// phoneCodec opens the encoder and decoder of a telephone codec and
// gives its static payload type.
func phoneCodec(name string) (phoneEncoder, phoneDecoder, uint8, error) {
	var (
		enc       phoneEncoder
		dec       phoneDecoder
		pt        uint8
		err, derr error
	)
	switch name {
	case endpoint.CodecPCMU, endpoint.CodecPCMA:
		l := g711.ULaw
		if name == endpoint.CodecPCMA {
			l, pt = g711.ALaw, 8
		}
		enc, err = g711.NewEncoder(l)
		dec, derr = g711.NewDecoder(l)
	case endpoint.CodecG722:
		pt = 9
		enc, err = g722.NewEncoder()
		dec, derr = g722.NewDecoder()
	default:
		return nil, nil, 0, fmt.Errorf("no telephone codec %q", name)
	}
	if err = errors.Join(err, derr); err != nil {
		return nil, nil, 0, err
	}
	return enc, dec, pt, nil
}

// phoneTone is a telephone's microphone: 20 ms packets of a tone in a
// telephone codec, RTP clock 8 kHz, paced in real time. It ends when its
// connection closes or stop is closed (the microphone changed codec).
type phoneTone struct {
	conn *localConn
	stop chan struct{}
	enc  phoneEncoder
	pt   uint8
	freq float64
	pos  int
	seq  uint16
	next time.Time
}

func (s *phoneTone) ReadRTP() (*rtp.Packet, error) {
	select {
	case <-s.stop:
		return nil, io.EOF
	default:
	}
	pcm, err := nextFrame(s.conn, &s.next, s.freq, &s.pos)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 160)
	if _, err := s.enc.Encode(pcm, buf); err != nil {
		return nil, err
	}
	s.seq++
	// Timestamps start near the wrap of the 8 kHz clock, which the room
	// scales to 48 kHz.
	return &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: s.pt, SequenceNumber: s.seq,
		Timestamp: uint32(s.seq)*160 - 40000, SSRC: 7}, Payload: buf}, nil
}

// phoneSink decodes the mix the room sends a telephone, in the codec
// each frame names (a change of codec starts the recording afresh), and
// counts frames that are not one 20 ms payload.
type phoneSink struct {
	mu    sync.Mutex
	codec string
	dec   phoneDecoder
	pcm   []int16
	bad   int
}

func (s *phoneSink) WriteFrame(f endpoint.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dec == nil {
		return io.ErrClosedPipe // the room still sends after the test let go
	}
	if f.Codec != "" && f.Codec != s.codec {
		_, dec, _, err := phoneCodec(f.Codec)
		if err != nil {
			s.bad++
			return err
		}
		_ = s.dec.Close()
		s.dec, s.codec, s.pcm = dec, f.Codec, nil
	}
	buf := make([]int16, g711.MaxFrameSamples)
	n, err := s.dec.Decode(f.Data, buf)
	if err != nil || len(f.Data) != 160 {
		s.bad++
		return err
	}
	s.pcm = append(s.pcm, buf[:n]...)
	return nil
}

// level is freq's level in the last half second heard (0 before a
// second has been heard in the current codec).
func (s *phoneSink) level(freq float64) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pcm) < 48000 {
		return 0
	}
	return codectest.Goertzel(s.pcm[len(s.pcm)-24000:], 48000, freq)
}

func (s *phoneSink) heardCodec() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codec
}

// phone is a telephone in a room.
type phone struct {
	id   room.ParticipantID
	sink *phoneSink
	// switchTo changes the telephone's codec both ways, as a re-INVITE
	// does: a new microphone in the new codec (sending a tone of freq),
	// and the mix in it.
	switchTo func(codec string, freq float64)
}

// joinPhone joins r as a telephone: audio only, in codecName both ways
// (endpoint.CodecPCMU, CodecPCMA or CodecG722), sending a tone of freq.
func joinPhone(t *testing.T, r *room.Room, name, codecName string, freq float64) phone {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	me, _, err := r.Join(ctx, room.JoinRequest{Display: name})
	if err != nil {
		t.Fatal(err)
	}
	enc, dec, pt, err := phoneCodec(codecName)
	if err != nil {
		t.Fatal(err)
	}
	conn := &localConn{closed: make(chan struct{})}
	sink := &phoneSink{dec: dec, codec: codecName}
	m := r.Member(me.ID)
	link := m.NewLink()
	if err := m.Attach(ctx, conn, endpoint.Media{Audio: sink, AudioCodec: codecName, Sends: true, Link: link, Kind: endpoint.KindRTP}); err != nil {
		t.Fatal(err)
	}
	link.State(conn, endpoint.ConnUp)
	var wg sync.WaitGroup
	var mu sync.Mutex
	mics := []*phoneTone{}
	start := func(mic *phoneTone, c string) {
		mu.Lock()
		mics = append(mics, mic)
		mu.Unlock()
		wg.Add(1)
		go func() { defer wg.Done(); link.ReadAudioCodec(conn, mic, c) }()
	}
	start(&phoneTone{conn: conn, stop: make(chan struct{}), enc: enc, pt: pt, freq: freq, next: time.Now()}, codecName)
	t.Cleanup(func() {
		_ = conn.Close()
		wg.Wait()
		for _, mic := range mics {
			_ = mic.enc.Close()
		}
		sink.mu.Lock()
		_ = sink.dec.Close()
		sink.dec = nil
		sink.mu.Unlock()
	})
	switchTo := func(c string, freq float64) {
		enc, _, pt, err := phoneCodec(c)
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		old := mics[len(mics)-1]
		mu.Unlock()
		close(old.stop)
		start(&phoneTone{conn: conn, stop: make(chan struct{}), enc: enc, pt: pt, freq: freq, next: time.Now(), seq: 5000}, c)
		if err := link.MixCodec(conn, c); err != nil {
			t.Error(err)
		}
	}
	return phone{id: me.ID, sink: sink, switchTo: switchTo}
}

// hearing is what one participant should hear: the tones of the others,
// not its own.
type hearing struct {
	who  string
	lvl  func(float64) float64
	hear []float64
	own  float64
}

// expectHearing waits until everyone hears what they should, then checks
// nobody hears itself.
func expectHearing(t *testing.T, checks []hearing) {
	t.Helper()
	var last error
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		last = nil
		for _, c := range checks {
			for _, f := range c.hear {
				if lvl := c.lvl(f); lvl < 0.15 {
					last = fmt.Errorf("%s does not hear %v Hz yet (%.3f)", c.who, f, lvl)
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
		for _, f := range c.hear {
			t.Logf("%s hears %.0f Hz at %.3f", c.who, f, c.lvl(f))
		}
		t.Logf("%s hears itself at %.4f", c.who, c.lvl(c.own))
	}
}

func newPhoneRoom(t *testing.T) *room.Room {
	t.Helper()
	m, err := room.NewManager(room.ManagerConfig{Workers: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	r, err := m.Create(room.Config{Video: room.VideoConfig{Tiers: []room.Tier{{Width: 640, Height: 360, Bitrate: 800_000}}, Width: 640, Height: 360}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func checkFrames(t *testing.T, phones map[string]phone) {
	t.Helper()
	for name, p := range phones {
		p.sink.mu.Lock()
		if p.sink.bad > 0 {
			t.Errorf("%s got %d frames that were not one 20 ms payload", name, p.sink.bad)
		}
		p.sink.mu.Unlock()
	}
}

// A WebRTC-style participant (Opus) and two telephones, one on µ-law and
// one on A-law, in one room: each hears the other two and not itself,
// and every frame a telephone gets is one 20 ms G.711 payload.
func TestG711Participants(t *testing.T) {
	r := newPhoneRoom(t)
	web := joinLocal(t, r, "web", 440, codec.RGB(220, 30, 30))
	pcmu := joinPhone(t, r, "pcmu", endpoint.CodecPCMU, 660)
	pcma := joinPhone(t, r, "pcma", endpoint.CodecPCMA, 880)
	expectHearing(t, []hearing{
		{"web", web.audio.level, []float64{660, 880}, 440},
		{"pcmu", pcmu.sink.level, []float64{440, 880}, 660},
		{"pcma", pcma.sink.level, []float64{440, 660}, 880},
	})
	checkFrames(t, map[string]phone{"pcmu": pcmu, "pcma": pcma})
}

// An Opus participant, a G.722 telephone and a µ-law one: each hears the
// others and not itself. The G.722 telephone sends 5.5 kHz, which only a
// wideband path carries: the Opus participant hears it, so the room
// decodes G.722 as 16 kHz audio; the µ-law telephone, narrowband, does
// not.
func TestG722Participants(t *testing.T) {
	r := newPhoneRoom(t)
	web := joinLocal(t, r, "web", 440, codec.RGB(220, 30, 30))
	wide := joinPhone(t, r, "g722", endpoint.CodecG722, 5500)
	pcmu := joinPhone(t, r, "pcmu", endpoint.CodecPCMU, 660)
	expectHearing(t, []hearing{
		{"web", web.audio.level, []float64{5500, 660}, 440},
		{"g722", wide.sink.level, []float64{440, 660}, 5500},
		{"pcmu", pcmu.sink.level, []float64{440}, 660},
	})
	if lvl := pcmu.sink.level(5500); lvl > 0.01 {
		t.Errorf("the µ-law telephone hears 5.5 kHz at %.3f", lvl)
	}
	checkFrames(t, map[string]phone{"g722": wide, "pcmu": pcmu})
}

// A telephone changes codec mid-call, µ-law to G.722 both ways (a new
// microphone track and Link.MixCodec): the others go on hearing it, now
// its new microphone's 6 kHz tone (which only G.722 carries), no longer
// the old one's, and it hears the room decoded in the new codec.
func TestPhoneChangesCodec(t *testing.T) {
	r := newPhoneRoom(t)
	web := joinLocal(t, r, "web", 440, codec.RGB(220, 30, 30))
	p := joinPhone(t, r, "phone", endpoint.CodecPCMU, 660)
	expectHearing(t, []hearing{
		{"web", web.audio.level, []float64{660}, 440},
		{"phone", p.sink.level, []float64{440}, 660},
	})
	p.switchTo(endpoint.CodecG722, 6000)
	// The old tone must stop counting: wait for the new codec's frames,
	// then for a second of them.
	deadline := time.Now().Add(5 * time.Second)
	for p.sink.heardCodec() != endpoint.CodecG722 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := p.sink.heardCodec(); got != endpoint.CodecG722 {
		t.Fatalf("the telephone still gets its mix in %s", got)
	}
	expectHearing(t, []hearing{
		{"web", web.audio.level, []float64{6000}, 440},
		{"phone", p.sink.level, []float64{440}, 6000},
	})
	if lvl := web.audio.level(660); lvl > 0.01 {
		t.Errorf("the old microphone is still heard at %.3f", lvl)
	}
	checkFrames(t, map[string]phone{"phone": p})
}
