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

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/h264"
	"github.com/tessera-mcu/tessera/internal/testpeer"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/endpoint"
	"github.com/tessera-mcu/tessera/room/plainrtp"
)

// videoPhone is a room system on loopback: an H.264 camera of one colour
// sent as RTP (keyframes on PLI or FIR), and a decoder of the composite
// it receives.
type videoPhone struct {
	t      *testing.T
	audio  *net.UDPConn
	video  *net.UDPConn
	vrtcp  *net.UDPConn
	to     netip.AddrPort // the session's video RTP port
	colour codec.YUV
	stop   chan struct{}
	wg     sync.WaitGroup

	mu          sync.Mutex
	keyWanted   bool
	keyRequests int
	last        *codec.Frame
	pictures    int
	idrs        []time.Time // when each IDR of the composite arrived
	pts         map[uint8]int
	// nalTypes counts the composite's packets by the type in their
	// payload's first byte (1-23: a single NAL unit, 24 STAP-A, 28
	// FU-A); largest is the largest packet, header included.
	nalTypes map[int]int
	largest  int

	// fmtp and attrs, if set, replace the offer's H.264 fmtp line and
	// add attribute lines; mode0 sends the camera as single NAL units.
	fmtp  string
	attrs []string
	mode0 bool
}

func newVideoPhone(t *testing.T, colour codec.YUV) *videoPhone {
	p := &videoPhone{t: t, colour: colour, stop: make(chan struct{}), pts: map[uint8]int{}, nalTypes: map[int]int{}}
	for _, c := range []**net.UDPConn{&p.audio, &p.video, &p.vrtcp} {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		*c = conn
	}
	return p
}

func udpPort(c *net.UDPConn) int { return c.LocalAddr().(*net.UDPAddr).Port }

// offer is the phone's offer: PCMU, and H.264 in packetization mode 1
// at level 3.1 capped to CIF by max-fs.
func (p *videoPhone) offer() string {
	fmtp := "profile-level-id=42e01f;packetization-mode=1;max-fs=396"
	if p.fmtp != "" {
		fmtp = p.fmtp
	}
	lines := []string{"v=0", "o=roomsystem 1 1 IN IP4 127.0.0.1", "s=call", "c=IN IP4 127.0.0.1", "t=0 0",
		fmt.Sprintf("m=audio %d RTP/AVP 0", udpPort(p.audio)), "a=sendrecv",
		fmt.Sprintf("m=video %d RTP/AVP 97", udpPort(p.video)), "a=rtpmap:97 H264/90000", "a=fmtp:97 " + fmtp,
		fmt.Sprintf("a=rtcp:%d", udpPort(p.vrtcp)), "a=rtcp-fb:97 nack pli", "a=rtcp-fb:97 ccm fir", "a=sendrecv"}
	return strings.Join(append(lines, append(p.attrs, "")...), "\r\n")
}

func (p *videoPhone) start(call *plainrtp.Session) {
	p.to = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(call.VideoPort()))
	p.wg.Add(3)
	go p.sendCamera()
	go p.readRTCP()
	go p.receive()
	p.t.Cleanup(func() {
		close(p.stop)
		for _, c := range []*net.UDPConn{p.audio, p.video, p.vrtcp} {
			_ = c.Close()
		}
		p.wg.Wait()
		p.mu.Lock()
		if p.last != nil {
			p.last.Release()
		}
		p.mu.Unlock()
	})
}

// sendCamera sends a 320x240 picture of the phone's colour at 15 fps.
func (p *videoPhone) sendCamera() {
	defer p.wg.Done()
	cfg := h264.EncoderConfig{Width: 320, Height: 240, FPS: 15, Bitrate: 300_000}
	if p.mode0 {
		cfg.MaxSliceBytes = 1100
	}
	enc, err := h264.NewEncoder(cfg)
	if err != nil {
		p.t.Error(err)
		return
	}
	defer enc.Close()
	pic := codec.NewFrame(320, 240)
	pic.Fill(p.colour)
	pay := &codecs.H264Payloader{}
	tick := time.NewTicker(time.Second / 15)
	defer tick.Stop()
	seq, ts := uint16(500), uint32(9000)
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		p.mu.Lock()
		if p.keyWanted {
			enc.ForceKeyframe()
			p.keyWanted = false
		}
		p.mu.Unlock()
		pkt, err := enc.Encode(pic)
		if err != nil || len(pkt.Data) == 0 {
			continue
		}
		payloads := pay.Payload(1188, pkt.Data)
		if p.mode0 {
			payloads = h264.SplitNALUnits(pkt.Data)
		}
		for i, pl := range payloads {
			b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 97, SequenceNumber: seq, Timestamp: ts,
				SSRC: 0xca11, Marker: i == len(payloads)-1}, Payload: pl}).Marshal()
			seq++
			_, _ = p.video.WriteToUDPAddrPort(b, p.to)
		}
		ts += 6000
	}
}

// readRTCP takes the session's keyframe requests for the camera.
func (p *videoPhone) readRTCP() {
	defer p.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, err := p.vrtcp.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, pk := range pkts {
			switch pk.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.mu.Lock()
				p.keyWanted = true
				p.keyRequests++
				p.mu.Unlock()
			}
		}
	}
}

// receive depacketizes and decodes the composite.
func (p *videoPhone) receive() {
	defer p.wg.Done()
	dec, err := h264.NewDecoder(codec.NewFramePool(4))
	if err != nil {
		p.t.Error(err)
		return
	}
	defer dec.Close()
	buf := make([]byte, 1500)
	var dep codecs.H264Packet
	var au []byte
	for {
		n, err := p.video.Read(buf)
		if err != nil {
			return
		}
		var pkt rtp.Packet
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		p.mu.Lock()
		p.pts[pkt.PayloadType]++
		if len(pkt.Payload) > 0 {
			p.nalTypes[int(pkt.Payload[0]&0x1f)]++
		}
		p.largest = max(p.largest, n)
		p.mu.Unlock()
		nal, err := dep.Unmarshal(pkt.Payload)
		if err != nil {
			au = au[:0]
			continue
		}
		au = append(au, nal...)
		if !pkt.Marker {
			continue
		}
		idr := h264.ContainsIDR(au)
		pic, err := dec.Decode(au)
		au = au[:0]
		if err != nil || pic == nil {
			continue
		}
		p.mu.Lock()
		if p.last != nil {
			p.last.Release()
		}
		p.last = pic
		p.pictures++
		if idr {
			p.idrs = append(p.idrs, time.Now())
		}
		p.mu.Unlock()
	}
}

// keyframeAfter runs ask (a keyframe request) and returns how long the
// next IDR of the composite took to arrive, if it came within limit.
func (p *videoPhone) keyframeAfter(ask func(), limit time.Duration) (time.Duration, bool) {
	sentAt := time.Now()
	ask()
	for time.Since(sentAt) < limit {
		p.mu.Lock()
		n := len(p.idrs)
		var last time.Time
		if n > 0 {
			last = p.idrs[n-1]
		}
		p.mu.Unlock()
		if last.After(sentAt) {
			return last.Sub(sentAt), true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0, false
}

// colourAt is the mean colour in the middle of a tile of the last
// composite the phone decoded, and that composite's size.
func (p *videoPhone) colourAt(t room.TileInfo, canvasW int) (c codec.YUV, w, h int, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		return c, 0, 0, false
	}
	return tileColour(p.last, t, canvasW), p.last.Width, p.last.Height, true
}

// tileColour is the mean colour in the middle of tile t of f, a
// composite of a canvas canvasW wide.
func tileColour(f *codec.Frame, t room.TileInfo, canvasW int) codec.YUV {
	k := float64(f.Width) / float64(canvasW)
	x, y, w, h := int(float64(t.X)*k), int(float64(t.Y)*k), int(float64(t.Width)*k), int(float64(t.Height)*k)
	return f.Mean(codec.R(x+w*3/10, y+h*3/10, w*4/10, h*3/10))
}

// A room system (plain RTP, PCMU and H.264 capped to CIF) and a WebRTC
// participant (VP8) in one room: each sees its own and the other's
// picture in the right tiles, the room system's composite is the tier
// its max-fs allows, and its PLIs reach the room.
func TestRoomSystemVideo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	webrtc := newWebRTC(t)
	pr := newPhoneRoom(t, phoneVideoConfig())
	r, engine := pr.r, pr.engine
	const canvasW = phoneCanvasW

	red, blue := codec.RGB(220, 30, 30), codec.RGB(30, 40, 220)
	me, web := joinWebRTC(ctx, t, r, webrtc, testpeer.Options{ToneHz: 440, Video: "vp8", VideoColor: blue})

	phone := newVideoPhone(t, red)
	call, err := engine.Offer(phone.offer(), plainrtp.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = call.Close() })
	if v, ok := call.Video(); !ok || v.Name != endpoint.CodecH264 || v.MaxPictureSize() != 396*256 {
		t.Fatalf("video %+v, %v:\n%s", v, ok, call.Answer())
	}
	joined, _, err := r.Join(ctx, room.JoinRequest{Display: "room system"})
	if err != nil {
		t.Fatal(err)
	}
	if err := call.Attach(ctx, r.Member(joined.ID)); err != nil {
		t.Fatal(err)
	}
	phone.start(call)

	want := map[room.ParticipantID]codec.YUV{me.ID: blue, joined.ID: red}
	var last error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		tiles, err := r.Tiles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last = nil
		shown := map[string]bool{}
		webPic := web.VideoFrame()
		for _, tile := range tiles {
			w, mine := want[tile.Participant]
			if !mine {
				continue
			}
			if webPic != nil && tileColour(webPic, tile, canvasW).Distance(w) < 30 {
				shown[fmt.Sprintf("web sees %d", tile.Participant)] = true
			}
			if c, _, _, ok := phone.colourAt(tile, canvasW); ok && c.Distance(w) < 30 {
				shown[fmt.Sprintf("phone sees %d", tile.Participant)] = true
			}
		}
		if len(shown) != 4 {
			last = fmt.Errorf("the composites show only %v (tiles %+v)", shown, tiles)
			continue
		}
		break
	}
	if last != nil {
		t.Fatal(last)
	}

	// The phone's composite is the 320x180 tier: CIF (396 macroblocks)
	// holds it, 640x360 it does not.
	_, w, h, _ := phone.colourAt(room.TileInfo{}, canvasW)
	if w != 320 || h != 180 || w*h > 396*256 {
		t.Errorf("the phone receives %dx%d, want the 320x180 tier", w, h)
	}
	if webPic := web.VideoFrame(); webPic == nil || webPic.Width != 640 {
		t.Errorf("the WebRTC participant does not receive the 640x360 tier")
	}
	phone.mu.Lock()
	if phone.keyRequests == 0 {
		t.Error("the session never asked the phone for a keyframe")
	}
	if len(phone.pts) != 1 || phone.pts[97] == 0 {
		t.Errorf("the phone received video payload types %v, want only 97", phone.pts)
	}
	phone.mu.Unlock()

	// A PLI from the phone reaches the room: its output counts it and a
	// keyframe follows within the room's keyframe latency.
	plis := func() uint64 {
		st, err := r.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range st.VideoOutputs {
			if o.Codec == endpoint.CodecH264 && o.Tier == 1 {
				return o.PLIs
			}
		}
		return 0
	}
	before := plis()
	pli := func() {
		b, _ := (&rtcp.PictureLossIndication{SenderSSRC: 0xca11, MediaSSRC: 1}).Marshal()
		if _, err := phone.vrtcp.WriteToUDPAddrPort(b, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(call.VideoPort()+1))); err != nil {
			t.Fatal(err)
		}
	}
	fir := func() {
		b, _ := (&rtcp.FullIntraRequest{SenderSSRC: 0xca11, MediaSSRC: 1, FIR: []rtcp.FIREntry{{SSRC: 1, SequenceNumber: 1}}}).Marshal()
		if _, err := phone.vrtcp.WriteToUDPAddrPort(b, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(call.VideoPort()+1))); err != nil {
			t.Fatal(err)
		}
	}
	pfu := func() {
		// What the SIP user agent does with an INFO picture_fast_update.
		if !call.PictureFastUpdate() {
			t.Fatal("the call has no video to refresh")
		}
	}
	// Requests at several distances from the composite's last keyframe,
	// past the time in which the room takes a request as answered by it:
	// each brings a keyframe, well within the bound below (a generous
	// one: the machine running the test may be loaded).
	for i, gap := range []time.Duration{700, 250, 300, 450, 600, 260, 350, 500, 400} {
		time.Sleep(gap * time.Millisecond)
		ask, kind := pli, "PLI"
		switch i % 3 {
		case 1:
			ask, kind = pfu, "picture fast update"
		case 2:
			ask, kind = fir, "FIR"
		}
		d, ok := phone.keyframeAfter(ask, 1500*time.Millisecond)
		if !ok {
			t.Errorf("no keyframe within 1.5 s of a %s sent %d ms after the previous keyframe", kind, gap)
			continue
		}
		t.Logf("%s %d ms after the previous keyframe: keyframe after %v", kind, gap, d.Round(time.Millisecond))
	}
	if got := plis(); got <= before {
		t.Errorf("the room counted %d PLIs of the phone's output, %d before the phone sent some", got, before)
	}
	st := call.Stats()
	if st.Video.KeyframeRequestsIn == 0 || st.Video.PacketsIn == 0 || st.Video.Pictures == 0 || st.Video.Bad != 0 {
		t.Errorf("video stats %+v", st.Video)
	}
	if errors.Is(call.Err(), plainrtp.ErrInactive) {
		t.Error("the call timed out")
	}
}
