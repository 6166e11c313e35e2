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
	"github.com/pion/rtp/codecs"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/opus"
	"github.com/tessera-mcu/tessera/codec/vp8"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// A kind of connection the room core has never heard of: an in-process
// endpoint, built here only on the endpoint contract and the room's
// exported API. It sends a tone and a coloured picture as RTP and decodes
// the mix and the composite it receives. No network, no WebRTC.

// localConn is the endpoint's Connection.
type localConn struct {
	once   sync.Once
	closed chan struct{}
}

func (c *localConn) TargetBitrate() int { return 2_000_000 }
func (c *localConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

// toneSource is a microphone: 20 ms Opus packets of a tone, paced in
// real time.
type toneSource struct {
	conn *localConn
	enc  *opus.Encoder
	freq float64
	pos  int
	seq  uint16
	next time.Time
}

// nextFrame waits until *next, the time of a microphone's next 20 ms
// frame, moves it on, and returns that frame of a tone of freq from
// *pos; io.EOF once the connection closed.
func nextFrame(conn *localConn, next *time.Time, freq float64, pos *int) ([]int16, error) {
	if wait := time.Until(*next); wait > 0 {
		select {
		case <-time.After(wait):
		case <-conn.closed:
			return nil, io.EOF
		}
	}
	*next = next.Add(20 * time.Millisecond)
	pcm := make([]int16, 960)
	*pos = codectest.Tone(pcm, 1, 48000, freq, 0.25, *pos)
	return pcm, nil
}

func (s *toneSource) ReadRTP() (*rtp.Packet, error) {
	pcm, err := nextFrame(s.conn, &s.next, s.freq, &s.pos)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, opus.MaxPacketBytes)
	n, err := s.enc.Encode(pcm, buf)
	if err != nil {
		return nil, err
	}
	s.seq++
	return &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: s.seq,
		Timestamp: uint32(s.seq) * 960, SSRC: 1}, Payload: buf[:n]}, nil
}

// colourSource is a camera: a VP8 picture of one colour at 15 fps, each
// frame packetized as RTP.
type colourSource struct {
	conn    *localConn
	enc     *vp8.Encoder
	picture *codec.Frame
	pending []*rtp.Packet
	seq     uint16
	frame   uint32
	next    time.Time
	keyMu   sync.Mutex
	key     bool
}

func (s *colourSource) ReadRTP() (*rtp.Packet, error) {
	for len(s.pending) == 0 {
		if wait := time.Until(s.next); wait > 0 {
			select {
			case <-time.After(wait):
			case <-s.conn.closed:
				return nil, io.EOF
			}
		}
		s.next = s.next.Add(time.Second / 15)
		s.keyMu.Lock()
		if s.key {
			s.enc.ForceKeyframe()
			s.key = false
		}
		s.keyMu.Unlock()
		pkt, err := s.enc.Encode(s.picture)
		if err != nil {
			return nil, err
		}
		s.frame++
		payloads := (&codecs.VP8Payloader{}).Payload(1200, pkt.Data)
		for i, p := range payloads {
			s.seq++
			s.pending = append(s.pending, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: s.seq,
				Timestamp: s.frame * 6000, SSRC: 2, Marker: i == len(payloads)-1}, Payload: append([]byte(nil), p...)})
		}
	}
	p := s.pending[0]
	s.pending = s.pending[1:]
	return p, nil
}

// The camera's SenderFeedback: keyframes on request.
func (s *colourSource) RequestKeyframe() error {
	s.keyMu.Lock()
	s.key = true
	s.keyMu.Unlock()
	return nil
}
func (s *colourSource) LimitBitrate(uint64) error { return nil }

// pcmSink decodes the mix the room sends.
type pcmSink struct {
	mu  sync.Mutex
	dec *opus.Decoder
	pcm []int16
}

func (s *pcmSink) WriteFrame(f endpoint.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dec == nil {
		return io.ErrClosedPipe // the room still sends after the test let go
	}
	buf := make([]int16, opus.MaxFrameSamples)
	n, err := s.dec.Decode(f.Data, buf)
	if err != nil {
		return err
	}
	s.pcm = append(s.pcm, buf[:n]...)
	return nil
}

func (s *pcmSink) level(freq float64) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pcm) < 48000 {
		return 0
	}
	return codectest.Goertzel(s.pcm[len(s.pcm)-24000:], 48000, freq)
}

// pictureSink decodes the composite the room sends.
type pictureSink struct {
	mu   sync.Mutex
	dec  *vp8.Decoder
	last *codec.Frame
}

func (s *pictureSink) WriteFrame(f endpoint.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dec == nil {
		return io.ErrClosedPipe
	}
	pic, err := s.dec.Decode(f.Data)
	if err != nil || pic == nil {
		return err
	}
	if s.last != nil {
		s.last.Release()
	}
	s.last = pic
	return nil
}

// colourAt is the mean colour in the middle of a tile of the last
// composite decoded.
func (s *pictureSink) colourAt(t room.TileInfo, canvasW int) (codec.YUV, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return codec.YUV{}, false
	}
	k := float64(s.last.Width) / float64(canvasW)
	x, y, w, h := int(float64(t.X)*k), int(float64(t.Y)*k), int(float64(t.Width)*k), int(float64(t.Height)*k)
	return s.last.Mean(codec.R(x+w*3/10, y+h*3/10, w*4/10, h*3/10)), true
}

// local is one participant on the in-process endpoint.
type local struct {
	id    room.ParticipantID
	conn  *localConn
	audio *pcmSink
	video *pictureSink
}

// joinLocal joins r as a participant on the in-process endpoint, sending
// a tone of freq and a picture of colour.
func joinLocal(t *testing.T, r *room.Room, name string, freq float64, colour codec.YUV) *local {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	me, _, err := r.Join(ctx, room.JoinRequest{Display: name})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := opus.NewEncoder(opus.EncoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	venc, err := vp8.NewEncoder(vp8.EncoderConfig{Width: 320, Height: 180, FPS: 15})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := opus.NewDecoder(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	vdec, err := vp8.NewDecoder(codec.NewFramePool(4))
	if err != nil {
		t.Fatal(err)
	}
	picture := codec.NewFrame(320, 180)
	picture.Fill(colour)
	conn := &localConn{closed: make(chan struct{})}
	l := &local{id: me.ID, conn: conn, audio: &pcmSink{dec: dec}, video: &pictureSink{dec: vdec}}
	m := r.Member(me.ID)
	link := m.NewLink()
	if err := m.Attach(ctx, conn, endpoint.Media{Audio: l.audio, Video: l.video, VideoCodec: endpoint.CodecVP8, Sends: true, Link: link}); err != nil {
		t.Fatal(err)
	}
	link.State(conn, endpoint.ConnUp)
	mic := &toneSource{conn: conn, enc: enc, freq: freq, next: time.Now()}
	cam := &colourSource{conn: conn, enc: venc, picture: picture, next: time.Now(), key: true}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); link.ReadAudio(conn, mic, 0) }()
	go func() { defer wg.Done(); link.ReadVideo(conn, cam, endpoint.CodecVP8, cam) }()
	t.Cleanup(func() {
		_ = conn.Close()
		wg.Wait() // the readers end with their sources
		enc.Close()
		venc.Close()
		l.audio.mu.Lock()
		dec.Close()
		l.audio.dec = nil
		l.audio.mu.Unlock()
		l.video.mu.Lock()
		vdec.Close()
		l.video.dec = nil
		l.video.mu.Unlock()
	})
	return l
}

// Two participants on the in-process endpoint: each hears the other's
// tone and not its own, and the composite each decodes shows both
// pictures in their tiles. The room core did not change for this kind of
// connection.
func TestInProcessEndpoint(t *testing.T) {
	m, err := room.NewManager(room.ManagerConfig{Workers: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	r, err := m.Create(room.Config{Video: room.VideoConfig{Tiers: []room.Tier{{Width: 640, Height: 360, Bitrate: 800_000}}, Width: 640, Height: 360}})
	if err != nil {
		t.Fatal(err)
	}
	red, blue := codec.RGB(220, 30, 30), codec.RGB(30, 40, 220)
	a := joinLocal(t, r, "a", 440, red)
	b := joinLocal(t, r, "b", 660, blue)
	want := map[room.ParticipantID]codec.YUV{a.id: red, b.id: blue}

	var last error
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		last = nil
		if lvl := a.audio.level(660); lvl < 0.15 {
			last = errors.New("a does not hear b")
			continue
		}
		if lvl := b.audio.level(440); lvl < 0.15 {
			last = errors.New("b does not hear a")
			continue
		}
		tiles, err := r.Tiles(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		shown := 0
		for _, viewer := range []*local{a, b} {
			for _, tile := range tiles {
				c, ok := viewer.video.colourAt(tile, 640)
				if w, mine := want[tile.Participant]; ok && mine && c.Distance(w) < 30 {
					shown++
				}
			}
		}
		if shown != 4 {
			last = errors.New("the composites do not show both pictures yet")
			continue
		}
		break
	}
	if last != nil {
		t.Fatal(last)
	}
	for _, c := range []struct {
		name string
		l    *local
		own  float64
	}{{"a", a, 440}, {"b", b, 660}} {
		if lvl := c.l.audio.level(c.own); lvl > 0.01 {
			t.Errorf("%s hears its own tone at %.3f", c.name, lvl)
		}
	}
	t.Logf("a hears b at %.3f, b hears a at %.3f", a.audio.level(660), b.audio.level(440))
}
