package sip

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// udpMedia is a small plain-RTP media layer for the tests: G.711 over a
// real UDP socket on loopback, attached to the room like any connection.
type udpMedia struct{}

type udpCall struct {
	conn   *net.UDPConn
	codec  string
	pt     uint8
	remote *net.UDPAddr
	answer []byte

	mu     sync.Mutex
	seq    uint16
	ts     uint32
	once   sync.Once
	done   chan struct{}
	wg     sync.WaitGroup
	update int // offers taken after the first
}

// g711PT are the static payload types the test media speaks.
var g711PT = map[uint8]string{0: endpoint.CodecPCMU, 8: endpoint.CodecPCMA}

// pickAudio is the first G.711 format of the offer's first RTP/AVP audio
// stream, and where the stream's RTP goes.
func pickAudio(offer []byte) (uint8, *net.UDPAddr, string, error) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(offer); err != nil {
		return 0, nil, "", fmt.Errorf("%w: %v", endpoint.ErrInvalidSDP, err)
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 {
			continue
		}
		c := sd.ConnectionInformation
		if md.ConnectionInformation != nil {
			c = md.ConnectionInformation
		}
		if c == nil || c.Address == nil {
			return 0, nil, "", fmt.Errorf("%w: no c= line", endpoint.ErrInvalidSDP)
		}
		dir := "sendrecv"
		for _, a := range md.Attributes {
			switch a.Key {
			case "sendonly", "recvonly", "inactive":
				dir = a.Key
			}
		}
		for _, f := range md.MediaName.Formats {
			n, err := strconv.Atoi(f)
			if _, ok := g711PT[uint8(n)]; err == nil && ok {
				addr := &net.UDPAddr{IP: net.ParseIP(c.Address.Address), Port: md.MediaName.Port.Value}
				return uint8(n), addr, dir, nil
			}
		}
	}
	return 0, nil, "", endpoint.ErrNoMedia
}

func answerSDP(port int, pt uint8, dir string) []byte {
	mirror := map[string]string{"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive", "sendrecv": "sendrecv"}[dir]
	name := "PCMU"
	if pt == 8 {
		name = "PCMA"
	}
	return fmt.Appendf(nil, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP %d\r\na=rtpmap:%d %s/8000\r\na=ptime:20\r\na=%s\r\n", port, pt, pt, name, mirror)
}

func (udpMedia) Answer(offer []byte, _ func(rune)) (MediaCall, []byte, error) {
	pt, remote, dir, err := pickAudio(offer)
	if err != nil {
		return nil, nil, err
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, nil, err
	}
	c := &udpCall{conn: conn, codec: g711PT[pt], pt: pt, remote: remote, done: make(chan struct{})}
	c.answer = answerSDP(conn.LocalAddr().(*net.UDPAddr).Port, pt, dir)
	return c, c.answer, nil
}

func (c *udpCall) Attach(ctx context.Context, m *room.Member) error {
	link := m.NewLink()
	err := m.Attach(ctx, c, endpoint.Media{Audio: c, AudioCodec: c.codec, Sends: true, Link: link, Kind: endpoint.KindRTP})
	if err != nil {
		return err
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		link.ReadAudioCodec(c, c, c.codec)
	}()
	link.State(c, endpoint.ConnUp)
	return nil
}

func (c *udpCall) Update(offer []byte) ([]byte, error) {
	pt, remote, dir, err := pickAudio(offer)
	if err != nil {
		return nil, err
	}
	if pt != c.pt {
		return nil, fmt.Errorf("%w: codec change", endpoint.ErrNoMedia)
	}
	c.mu.Lock()
	c.remote = remote
	c.update++
	c.mu.Unlock()
	return answerSDP(c.conn.LocalAddr().(*net.UDPAddr).Port, pt, dir), nil
}

func (c *udpCall) updates() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.update
}

func (c *udpCall) ReadRTP() (*rtp.Packet, error) {
	buf := make([]byte, 1500)
	for {
		n, err := c.conn.Read(buf)
		if err != nil {
			return nil, err
		}
		var p rtp.Packet
		if p.Unmarshal(buf[:n]) == nil && p.PayloadType == c.pt {
			return &p, nil
		}
	}
}

func (c *udpCall) WriteFrame(f endpoint.Frame) error {
	c.mu.Lock()
	c.seq += 1 + f.Skipped
	c.ts += 160 * uint32(1+f.Skipped)
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: c.pt, SequenceNumber: c.seq, Timestamp: c.ts, SSRC: 99}, Payload: f.Data}
	to := c.remote
	c.mu.Unlock()
	b, err := p.Marshal()
	if err != nil {
		return err
	}
	_, err = c.conn.WriteToUDP(b, to)
	return err
}

func (c *udpCall) TargetBitrate() int    { return 0 }
func (c *udpCall) Done() <-chan struct{} { return c.done }

func (c *udpCall) Close() error {
	c.once.Do(func() {
		close(c.done)
		_ = c.conn.Close()
	})
	c.wg.Wait()
	return nil
}
