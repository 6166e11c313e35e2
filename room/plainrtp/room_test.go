package plainrtp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/g711"
	"github.com/tessera-mcu/tessera/codec/g722"
	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/endpoint"
	"github.com/tessera-mcu/tessera/room/plainrtp"
	"github.com/tessera-mcu/tessera/room/rtc"
)

// phoneCodec is a telephone's codec: G.711 or G.722, 160 bytes per
// 20 ms either way.
type phoneCodec struct {
	enc interface {
		Encode(pcm []int16, dst []byte) (int, error)
	}
	dec interface {
		Decode(payload []byte, pcm []int16) (int, error)
	}
	pt uint8
}

func pcmuPhone(t *testing.T) phoneCodec {
	enc, err := g711.NewEncoder(g711.ULaw)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := g711.NewDecoder(g711.ULaw)
	if err != nil {
		t.Fatal(err)
	}
	return phoneCodec{enc, dec, 0}
}

func g722Phone(t *testing.T) phoneCodec {
	enc, err := g722.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := g722.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = enc.Close(); _ = dec.Close() })
	return phoneCodec{enc, dec, 9}
}

// roomPhone is a telephone on loopback: it sends a tone as RTP, paced in
// real time, and decodes what it receives in its codec.
type roomPhone struct {
	conn *net.UDPConn
	to   netip.AddrPort
	stop chan struct{}
	wg   sync.WaitGroup

	mu    sync.Mutex
	codec phoneCodec
	freq  float64
	pcm   []int16
	pts   map[uint8]int // payload types received
}

// switchTo changes the phone's codec both ways and the tone it sends;
// what it heard so far is forgotten.
func (p *roomPhone) switchTo(c phoneCodec, freq float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.codec, p.freq, p.pcm = c, freq, nil
}

func (p *roomPhone) send() {
	defer p.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pcm := make([]int16, g711.FrameSamples)
	pos, seq, ts := 0, uint16(7), uint32(1234)
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		p.mu.Lock()
		c, freq := p.codec, p.freq
		p.mu.Unlock()
		pos = codectest.Tone(pcm, 1, g711.SampleRate, freq, 0.25, pos)
		payload := make([]byte, g711.FrameBytes)
		if _, err := c.enc.Encode(pcm, payload); err != nil {
			return
		}
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: c.pt, SequenceNumber: seq, Timestamp: ts, SSRC: 0xabc},
			Payload: payload}).Marshal()
		seq++
		ts += g711.FrameBytes
		_, _ = p.conn.WriteToUDPAddrPort(b, p.to)
	}
}

func (p *roomPhone) receive() {
	defer p.wg.Done()
	buf := make([]byte, 1500)
	pcm := make([]int16, g711.MaxFrameSamples)
	for {
		n, err := p.conn.Read(buf)
		if err != nil {
			return
		}
		var pkt rtp.Packet
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		p.mu.Lock()
		p.pts[pkt.PayloadType]++
		if pkt.PayloadType == p.codec.pt {
			if k, err := p.codec.dec.Decode(pkt.Payload, pcm); err == nil {
				p.pcm = append(p.pcm, pcm[:k]...)
			}
		}
		p.mu.Unlock()
	}
}

// level is the amplitude of freq in the last second the phone heard.
func (p *roomPhone) level(freq float64) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	last := p.pcm[max(0, len(p.pcm)-g711.SampleRate):]
	return codectest.MedianLevel(last, g711.SampleRate, freq, 4800)
}

// A SIP phone (plain RTP, PCMU) and a WebRTC participant in one room:
// each hears the other's tone and not its own.
func TestPhoneAndWebRTCInRoom(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	webrtc := newWebRTC(t)
	pr := newPhoneRoom(t, room.Config{})
	r, engine := pr.r, pr.engine

	// The WebRTC participant, sending 440 Hz.
	_, web := joinWebRTC(ctx, t, r, webrtc, testpeer.Options{ToneHz: 440})

	// The phone, sending 660 Hz in PCMU.
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	phoneOffer := strings.Join([]string{"v=0", "o=phone 1 1 IN IP4 127.0.0.1", "s=call", "c=IN IP4 127.0.0.1", "t=0 0",
		fmt.Sprintf("m=audio %d RTP/AVP 0 8 101", conn.LocalAddr().(*net.UDPAddr).Port),
		"a=rtpmap:101 telephone-event/8000", "a=ptime:20", "a=sendrecv", ""}, "\r\n")
	call, err := engine.Offer(phoneOffer, plainrtp.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = call.Close() })
	if call.Codec().Name != endpoint.CodecPCMU {
		t.Fatalf("negotiated %+v", call.Codec())
	}
	joined, _, err := r.Join(ctx, room.JoinRequest{Display: "phone"})
	if err != nil {
		t.Fatal(err)
	}
	if err := call.Attach(ctx, r.Member(joined.ID)); err != nil {
		t.Fatal(err)
	}
	phone := startRoomPhone(t, conn, call, pcmuPhone(t), 660)

	const window = time.Second
	var last error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		last = nil
		if lvl := web.Level(660, window); lvl < 0.1 {
			last = fmt.Errorf("the WebRTC participant hears the phone at %.3f", lvl)
		}
		if lvl := phone.level(440); lvl < 0.1 {
			last = errors.Join(last, fmt.Errorf("the phone hears the WebRTC participant at %.3f", lvl))
		}
		if last == nil {
			break
		}
	}
	if last != nil {
		t.Fatal(last)
	}
	if lvl := web.Level(440, window); lvl > 0.01 {
		t.Errorf("the WebRTC participant hears itself at %.3f", lvl)
	}
	if lvl := phone.level(660); lvl > 0.01 {
		t.Errorf("the phone hears itself at %.3f", lvl)
	}
	t.Logf("web hears the phone at %.3f, itself at %.4f; the phone hears web at %.3f, itself at %.4f",
		web.Level(660, window), web.Level(440, window), phone.level(440), phone.level(660))
	phone.mu.Lock()
	if len(phone.pts) != 1 {
		t.Errorf("the phone received payload types %v, want only PCMU", phone.pts)
	}
	phone.mu.Unlock()
	list, err := r.Participants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		if p.ID == joined.ID && !p.Setup {
			t.Error("the room does not count the phone's media as up")
		}
	}
	if st := call.Stats(); st.Bad != 0 || st.PacketsIn == 0 || st.PacketsOut == 0 {
		t.Errorf("call stats %+v", st)
	}
}

// startRoomPhone starts a phone on conn talking to call's port in c,
// sending freq.
func startRoomPhone(t *testing.T, conn *net.UDPConn, call *plainrtp.Session, c phoneCodec, freq float64) *roomPhone {
	phone := &roomPhone{conn: conn, to: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(call.Port())),
		codec: c, freq: freq, stop: make(chan struct{}), pts: map[uint8]int{}}
	phone.wg.Add(2)
	go phone.send()
	go phone.receive()
	t.Cleanup(func() {
		close(phone.stop)
		_ = conn.Close()
		phone.wg.Wait()
	})
	return phone
}

// joinWebRTC joins r as "web" with a real pion peer that sends opts'
// media through the WebRTC engine, and waits until it is connected.
func joinWebRTC(ctx context.Context, t *testing.T, r *room.Room, webrtc *rtc.Engine, opts testpeer.Options) (room.ParticipantInfo, *testpeer.Peer) {
	t.Helper()
	me, _, err := r.Join(ctx, room.JoinRequest{Display: "web"})
	if err != nil {
		t.Fatal(err)
	}
	web, err := testpeer.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = web.Close() })
	offer, err := web.Offer()
	if err != nil {
		t.Fatal(err)
	}
	ans, err := webrtc.Offer(ctx, r.Member(me.ID), offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := web.Accept(ans.SDP); err != nil {
		t.Fatal(err)
	}
	if err := web.WaitConnected(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	return me, web
}
