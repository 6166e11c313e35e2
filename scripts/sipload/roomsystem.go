package main

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/tessera-mcu/tessera/codec"
	"github.com/tessera-mcu/tessera/codec/h264"
)

// camera is the picture a video participant sends: a colour that
// alternates with a second one every half second (a picture that keeps
// changing), optionally with luma noise (grainy content that fills the
// bitrate), at a size and frame rate.
type camera struct {
	width, height, fps int
	noise              int
	color, color2      codec.YUV
}

// cameraBitrate is what both kinds of camera are encoded at (the WebRTC
// test peer's rate).
const cameraBitrate = 300_000

// picture fills f with the camera's n-th picture.
func (c camera) picture(f *codec.Frame, n int, rng *rand.Rand) {
	col := c.color
	if (n/(c.fps/2+1))%2 == 1 {
		col = c.color2
	}
	f.Fill(col)
	if a := c.noise; a > 0 {
		for i, y := range f.Y {
			f.Y[i] = byte(min(max(int(y)+rng.IntN(2*a+1)-a, 0), 255))
		}
	}
}

// roomVideo is a SIP room system's video: an H.264 camera sent as RTP in
// packetization mode 1 (an IDR on the server's PLI or FIR), and the
// composite it receives, depacketized and decoded (a PLI to the server
// when a picture does not decode, at most one a second).
type roomVideo struct {
	conn  *net.UDPConn // video RTP, both ways
	rtcpC *net.UDPConn // the camera's RTCP (a=rtcp of the offer)
	to    *net.UDPAddr // the server's video RTP port
	cam   camera

	keyWanted atomic.Bool
	decoded   atomic.Uint64 // composite pictures decoded
	size      atomic.Uint64 // the last one's width<<32 | height
	errors    atomic.Uint64 // composite pictures that did not decode

	stop chan struct{}
	wg   sync.WaitGroup
}

func newRoomVideo(cam camera) (*roomVideo, error) {
	v := &roomVideo{cam: cam, stop: make(chan struct{})}
	for _, c := range []**net.UDPConn{&v.conn, &v.rtcpC} {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			v.closeConns()
			return nil, err
		}
		*c = conn
	}
	return v, nil
}

func (v *roomVideo) port() int     { return v.conn.LocalAddr().(*net.UDPAddr).Port }
func (v *roomVideo) rtcpPort() int { return v.rtcpC.LocalAddr().(*net.UDPAddr).Port }

func (v *roomVideo) closeConns() {
	for _, c := range []*net.UDPConn{v.conn, v.rtcpC} {
		if c != nil {
			_ = c.Close()
		}
	}
}

// start sends the camera to the server's video port to and takes the
// composite.
func (v *roomVideo) start(to *net.UDPAddr) {
	v.to = to
	v.wg.Add(3)
	go v.sendCamera()
	go v.readRTCP()
	go v.receive()
}

// close stops the camera and the receiver and waits for them.
func (v *roomVideo) close() {
	close(v.stop)
	v.closeConns()
	v.wg.Wait()
}

func (v *roomVideo) sendCamera() {
	defer v.wg.Done()
	c := v.cam
	enc, err := h264.NewEncoder(h264.EncoderConfig{Width: c.width, Height: c.height, FPS: c.fps, Bitrate: cameraBitrate})
	if err != nil {
		return
	}
	defer enc.Close()
	pic := codec.NewFrame(c.width, c.height)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	pay := &codecs.H264Payloader{}
	tick := time.NewTicker(time.Second / time.Duration(c.fps))
	defer tick.Stop()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: videoPT, SSRC: rng.Uint32()}}
	for n := 0; ; n++ {
		select {
		case <-v.stop:
			return
		case <-tick.C:
		}
		if v.keyWanted.Swap(false) {
			enc.ForceKeyframe()
		}
		c.picture(pic, n, rng)
		au, err := enc.Encode(pic)
		if err != nil || len(au.Data) == 0 {
			continue
		}
		payloads := pay.Payload(1188, au.Data)
		for i, pl := range payloads {
			pkt.SequenceNumber++
			pkt.Marker = i == len(payloads)-1
			pkt.Payload = pl
			if b, err := pkt.Marshal(); err == nil {
				_, _ = v.conn.WriteToUDP(b, v.to)
			}
		}
		pkt.Timestamp += uint32(90000 / c.fps)
	}
}

// readRTCP takes the server's keyframe requests for the camera.
func (v *roomVideo) readRTCP() {
	defer v.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, err := v.rtcpC.Read(buf)
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
				v.keyWanted.Store(true)
			}
		}
	}
}

// receive reassembles the composite's access units (a sequence gap drops
// the one under way) and decodes them.
func (v *roomVideo) receive() {
	defer v.wg.Done()
	pool := codec.NewFramePool(2)
	dec, err := h264.NewDecoder(pool)
	if err != nil {
		return
	}
	defer dec.Close()
	buf := make([]byte, 1500)
	var dep codecs.H264Packet
	var au []byte
	var next uint16
	started, broken := false, false
	var lastPLI time.Time
	for {
		n, err := v.conn.Read(buf)
		if err != nil {
			return
		}
		var pkt rtp.Packet
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		if started && pkt.SequenceNumber != next {
			broken = true
		}
		started, next = true, pkt.SequenceNumber+1
		nal, err := dep.Unmarshal(pkt.Payload)
		if err != nil {
			broken = true
		}
		au = append(au, nal...)
		if !pkt.Marker {
			continue
		}
		bad := broken
		var pic *codec.Frame
		if !bad {
			pic, err = dec.Decode(au)
		}
		au, broken = au[:0], false
		if bad {
			dep = codecs.H264Packet{}
		}
		if bad || err != nil {
			v.errors.Add(1)
			if time.Since(lastPLI) > time.Second {
				lastPLI = time.Now()
				v.requestKeyframe(pkt.SSRC)
			}
			continue
		}
		if pic == nil {
			continue
		}
		v.decoded.Add(1)
		v.size.Store(uint64(pic.Width)<<32 | uint64(pic.Height))
		pic.Release()
	}
}

// requestKeyframe sends a PLI for the composite to the server's video
// RTCP port (the next one up: its answer names no other).
func (v *roomVideo) requestKeyframe(ssrc uint32) {
	b, err := (&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: ssrc}).Marshal()
	if err != nil {
		return
	}
	to := *v.to
	to.Port++
	_, _ = v.rtcpC.WriteToUDP(b, &to)
}
