package plainrtp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// Engine makes the plain-RTP sessions of a process: it holds the media
// port range and the addresses to bind and to announce.
type Engine struct {
	cfg   Config
	bind  netip.Addr
	sdpIP netip.Addr
	ports *ports
}

// NewEngine checks cfg and returns an engine.
func NewEngine(cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Engine{
		cfg:   cfg,
		bind:  netip.MustParseAddr(cfg.BindIP).Unmap(),
		sdpIP: netip.MustParseAddr(cfg.SDPIP).Unmap(),
		ports: newPorts(cfg.PortMin, cfg.PortMax),
	}, nil
}

// Ports is how many media port pairs the range holds and how many
// sessions hold one now.
func (e *Engine) Ports() (total, used int) { return e.ports.pairs() }

// Offer takes an SDP offer (RTP/AVP audio, as a SIP phone sends it, and
// maybe video) and returns a session answering it, with its media ports
// open: Answer is the SDP answer, Attach joins it to a room participant,
// Close ends it. The first audio codec of the offer's order that Tessera
// speaks is chosen, and the first video stream with H.264 (packetization
// mode 1) or VP8, on a port pair of its own; every other stream is
// refused. An offer with no usable audio is an error wrapping ErrNoMedia,
// one that does not parse ErrInvalidSDP.
func (e *Engine) Offer(offer string, opts SessionOptions) (*Session, error) {
	p, err := parseOffer(offer, nil, videoWanted{allowed: true})
	if err != nil {
		return nil, err
	}
	port, rtpConn, rtcpConn, err := e.listen()
	if err != nil {
		return nil, err
	}
	s := newSession(e, opts, port, rtpConn, rtcpConn, p.r)
	if p.video >= 0 {
		vport, vrtp, vrtcp, err := e.listen()
		if err != nil {
			// No second pair: the call goes on without video.
			s.log.Warn("plain RTP: no port pair for video; the video stream is refused", "err", err)
			p.video = -1
		} else {
			s.video = newVideoStream(s, vport, vrtp, vrtcp, p.v)
		}
	}
	var key, vkey []byte
	if p.r.secure {
		if s.sec, err = newSRTP(p.r.crypto); err != nil {
			_ = s.Close()
			return nil, err
		}
		key = s.sec.local
	}
	if s.video != nil && p.v.secure {
		if s.video.sec, err = newSRTP(p.v.crypto); err != nil {
			_ = s.Close()
			return nil, err
		}
		vkey = s.video.sec.local
	}
	if s.answer, err = answer(p, e.sdpIP, port, s.videoPort(), s.id, s.version, key, vkey); err != nil {
		_ = s.Close()
		return nil, err
	}
	s.start()
	return s, nil
}

// listen opens the RTP and RTCP sockets of a free port pair, skipping
// pairs another program holds.
func (e *Engine) listen() (int, *net.UDPConn, *net.UDPConn, error) {
	total, _ := e.ports.pairs()
	var last error
	for range total {
		port, err := e.ports.take()
		if err != nil {
			return 0, nil, nil, err
		}
		rtpConn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(e.bind, uint16(port))))
		if err != nil {
			e.ports.give(port)
			last = err
			continue
		}
		rtcpConn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(e.bind, uint16(port+1))))
		if err != nil {
			_ = rtpConn.Close()
			e.ports.give(port)
			last = err
			continue
		}
		return port, rtpConn, rtcpConn, nil
	}
	if last == nil {
		last = errors.New("no pair could be bound")
	}
	return 0, nil, nil, fmt.Errorf("%w: %w", ErrNoPorts, last)
}
