package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"

	"github.com/tessera-mcu/tessera/codec/codectest"
	"github.com/tessera-mcu/tessera/codec/g711"
	"github.com/tessera-mcu/tessera/codec/opus"
)

// audioKind is what a SIP phone speaks.
type audioKind struct {
	name    string
	pt      uint8
	rtpmap  string
	tsStep  uint32   // RTP clock ticks per 20 ms packet
	payload [][]byte // one second of tone, sent in a loop
}

// toneFrames is one second of a tone (freq a multiple of 50 Hz: every
// 20 ms frame starts at the same phase) at 48 kHz mono, in 20 ms frames.
func toneFrames(freq, amp float64) [][]int16 {
	frames := make([][]int16, 50)
	for i := range frames {
		frames[i] = make([]int16, 960)
		codectest.Tone(frames[i], 1, 48000, freq, amp, i*960)
	}
	return frames
}

func pcmuKind(freq, amp float64) (audioKind, error) {
	enc, err := g711.NewEncoder(g711.ULaw)
	if err != nil {
		return audioKind{}, err
	}
	defer enc.Close()
	k := audioKind{name: "sip-pcmu", pt: 0, rtpmap: "0 PCMU/8000", tsStep: 160}
	for _, f := range toneFrames(freq, amp) {
		b := make([]byte, 160)
		n, err := enc.Encode(f, b)
		if err != nil {
			return k, err
		}
		k.payload = append(k.payload, b[:n])
	}
	return k, nil
}

func opusKind(freq, amp float64) (audioKind, error) {
	enc, err := opus.NewEncoder(opus.EncoderConfig{})
	if err != nil {
		return audioKind{}, err
	}
	defer enc.Close()
	k := audioKind{name: "sip-opus", pt: 111, rtpmap: "111 opus/48000/2", tsStep: 960}
	for _, f := range toneFrames(freq, amp) {
		b := make([]byte, 1500)
		n, err := enc.Encode(f, b)
		if err != nil {
			return k, err
		}
		k.payload = append(k.payload, b[:n])
	}
	return k, nil
}

// phones is a SIP user agent on loopback that places calls to the
// server, each with its own RTP socket.
type phones struct {
	ua     *sipgo.UserAgent
	dialog *sipgo.DialogClientCache
	sipPC  net.PacketConn
	server *net.UDPAddr
	done   chan struct{}
}

func newPhones(server string) (*phones, error) {
	to, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		return nil, err
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("sipload"))
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port))
	if err != nil {
		return nil, err
	}
	p := &phones{ua: ua, sipPC: pc, server: to, done: make(chan struct{}),
		dialog: sipgo.NewDialogClientCache(client, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "sipload", Host: "127.0.0.1", Port: port}})}
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := p.dialog.ReadBye(req, tx); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "No such call", nil))
		}
	})
	go func() {
		defer close(p.done)
		_ = srv.ServeUDP(pc)
	}()
	return p, nil
}

func (p *phones) close() {
	_ = p.ua.Close()
	_ = p.sipPC.Close()
	<-p.done
}

// phone is one call: its dialog, its RTP socket, what it received, and
// for a room system its video.
type phone struct {
	d        *sipgo.DialogClientSession
	conn     *net.UDPConn
	to       *net.UDPAddr
	kind     audioKind
	received atomic.Uint64
	video    *roomVideo // nil: audio only
	stop     chan struct{}
	wg       sync.WaitGroup
}

// videoPT is the room system's H.264 payload type.
const videoPT = 97

// call dials room 1234 as name and starts sending the kind's tone and
// draining what comes back. With a camera it is a room system: its offer
// adds H.264 video (packetization mode 1, level 3.1), and it sends the
// camera and decodes the composite.
func (p *phones) call(ctx context.Context, name string, k audioKind, cam *camera) (*phone, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	var video *roomVideo
	if cam != nil {
		if video, err = newRoomVideo(*cam); err != nil {
			conn.Close()
			return nil, err
		}
	}
	fail := func(err error) (*phone, error) {
		conn.Close()
		if video != nil {
			video.closeConns()
		}
		return nil, err
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		fmt.Sprintf("m=audio %d RTP/AVP %d\r\na=rtpmap:%s\r\na=ptime:20\r\na=sendrecv\r\n", port, k.pt, k.rtpmap)
	if video != nil {
		offer += fmt.Sprintf("m=video %d RTP/AVP %d\r\na=rtpmap:%d H264/90000\r\n", video.port(), videoPT, videoPT) +
			fmt.Sprintf("a=fmtp:%d profile-level-id=42e01f;packetization-mode=1\r\n", videoPT) +
			fmt.Sprintf("a=rtcp:%d\r\na=rtcp-fb:%d nack pli\r\na=rtcp-fb:%d ccm fir\r\na=sendrecv\r\n", video.rtcpPort(), videoPT, videoPT)
	}
	to := sip.Uri{Scheme: "sip", User: "1234", Host: p.server.IP.String(), Port: p.server.Port}
	from := &sip.FromHeader{DisplayName: name, Address: sip.Uri{Scheme: "sip", User: name, Host: "127.0.0.1"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	d, err := p.dialog.Invite(ctx, to, []byte(offer), sip.NewHeader("Content-Type", "application/sdp"), from)
	if err != nil {
		return fail(err)
	}
	if err := d.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		var re *sipgo.ErrDialogResponse
		if errors.As(err, &re) {
			err = fmt.Errorf("INVITE answered %d %s", re.Res.StatusCode, re.Res.Reason)
		}
		return fail(err)
	}
	if err := d.Ack(ctx); err != nil {
		return fail(err)
	}
	dest, err := mediaAddr(d.InviteResponse.Body(), "audio")
	var vdest *net.UDPAddr
	if err == nil && video != nil {
		vdest, err = mediaAddr(d.InviteResponse.Body(), "video")
	}
	if err != nil {
		_ = d.Bye(ctx)
		return fail(err)
	}
	ph := &phone{d: d, conn: conn, to: dest, kind: k, video: video, stop: make(chan struct{})}
	ph.wg.Add(2)
	go ph.send()
	go ph.drain()
	if video != nil {
		video.start(vdest)
	}
	return ph, nil
}

// mediaAddr is where the answer wants the media of kind (audio, video).
func mediaAddr(answer []byte, kind string) (*net.UDPAddr, error) {
	var s sdp.SessionDescription
	if err := s.Unmarshal(answer); err != nil {
		return nil, err
	}
	host := ""
	if s.ConnectionInformation != nil && s.ConnectionInformation.Address != nil {
		host = s.ConnectionInformation.Address.Address
	}
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media != kind || m.MediaName.Port.Value == 0 {
			continue
		}
		if m.ConnectionInformation != nil && m.ConnectionInformation.Address != nil {
			host = m.ConnectionInformation.Address.Address
		}
		return net.ResolveUDPAddr("udp", net.JoinHostPort(host, strconv.Itoa(m.MediaName.Port.Value)))
	}
	return nil, fmt.Errorf("answer without %s: %s", kind, answer)
}

func (ph *phone) send() {
	defer ph.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: ph.kind.pt, SSRC: uint32(time.Now().UnixNano())}}
	for i := 0; ; i++ {
		select {
		case <-ph.stop:
			return
		case <-tick.C:
		}
		pkt.SequenceNumber++
		pkt.Timestamp += ph.kind.tsStep
		pkt.Payload = ph.kind.payload[i%len(ph.kind.payload)]
		b, err := pkt.Marshal()
		if err == nil {
			_, _ = ph.conn.WriteToUDP(b, ph.to)
		}
	}
}

func (ph *phone) drain() {
	defer ph.wg.Done()
	buf := make([]byte, 1500)
	for {
		if _, err := ph.conn.Read(buf); err != nil {
			return
		}
		ph.received.Add(1)
	}
}

// hangup sends BYE and stops the media.
func (ph *phone) hangup() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = ph.d.Bye(ctx)
	close(ph.stop)
	_ = ph.conn.Close()
	ph.wg.Wait()
	if ph.video != nil {
		ph.video.close()
	}
}
