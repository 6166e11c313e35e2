package plainrtp

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/tessera-mcu/tessera/internal/loglimit"
	"github.com/tessera-mcu/tessera/room/endpoint"
)

// SessionOptions are a session's callbacks. They run on the session's own
// goroutines: they must return soon and must not call Close (which waits
// for those goroutines); hand the work to another goroutine.
type SessionOptions struct {
	// OnDigit is told of each DTMF digit the remote party sends as an
	// RFC 4733 telephone-event, once, when the event ends.
	OnDigit func(Digit)
	// OnEnd is told once why the session ended by itself (an error
	// wrapping ErrInactive); Close does not call it.
	OnEnd func(error)
}

// queueLen bounds the microphone packets waiting for the room (one
// second of 20 ms packets); more are dropped and counted.
const queueLen = 50

// Session is one participant's plain-RTP audio: its RTP and RTCP
// sockets, what was negotiated, the microphone it reads and the mix it
// sends. It is the participant's endpoint.Connection, the
// endpoint.FrameWriter of its mix and the endpoint.RTPReader of its
// microphone.
type Session struct {
	eng  *Engine
	log  *slog.Logger
	opts SessionOptions
	port int
	rtp  *net.UDPConn
	rtcp *net.UDPConn
	ssrc uint32
	id   uint64

	mu      sync.Mutex
	version uint64
	answer  string
	r       remote
	// sendTo is where RTP goes: the offer's address until RTP arrives
	// from elsewhere (latched true), then that source. rtcpTo likewise.
	sendTo, rtcpTo         netip.AddrPort
	latched, rtcpLatched   bool
	link                   endpoint.Link
	attached, flowing      bool
	closed                 bool
	latchLog, rtcpLatchLog loglimit.Limiter

	// lastRTP is when RTP last arrived (UnixNano), for the inactivity
	// timeout.
	lastRTP atomic.Int64
	upSent  atomic.Bool

	send sender
	// digitsMu serves SendDigits calls one at a time.
	digitsMu sync.Mutex
	dtmf     dtmfState // reader goroutine only
	// sec is the session's SRTP (nil: plain RTP/AVP); set before the
	// session starts and never replaced.
	sec *srtpState
	// rtpPlain holds decrypted SRTP (the RTP reader goroutine's own;
	// SRTCP, which two readers may get, is decrypted into fresh memory).
	rtpPlain []byte
	// video is the session's video (nil: none), set before the session
	// starts and never replaced.
	video *videoStream

	// mic is the microphone track the room reads (under mu: a new offer
	// that changes the codec replaces it).
	mic     *micTrack
	done    chan struct{} // closed by Close
	ended   chan struct{} // closed when the session ended by itself
	endOnce sync.Once
	endErr  error
	wg      sync.WaitGroup
	closing sync.Once

	stats    counters
	badLog   loglimit.Limiter
	sendLog  loglimit.Limiter
	dropLog  loglimit.Limiter
	closeErr error
}

var (
	_ endpoint.Connection  = (*Session)(nil)
	_ endpoint.FrameWriter = (*Session)(nil)
	_ endpoint.RTPReader   = (*Session)(nil)
)

func newSession(e *Engine, opts SessionOptions, port int, rtpConn, rtcpConn *net.UDPConn, r remote) *Session {
	s := &Session{
		eng: e, opts: opts, port: port, rtp: rtpConn, rtcp: rtcpConn,
		ssrc: rand.Uint32(), id: rand.Uint64() >> 1, version: 1,
		r: r, sendTo: r.rtp, rtcpTo: r.rtcp,
		done: make(chan struct{}), ended: make(chan struct{}),
	}
	s.mic = newMicTrack(s, r.codec.Name)
	s.log = e.cfg.Logger.With("rtp_port", port)
	s.send.init(s)
	s.lastRTP.Store(time.Now().UnixNano())
	return s
}

// start runs the session's goroutines: the RTP and RTCP readers and the
// clock (sender reports, inactivity).
func (s *Session) start() {
	s.wg.Add(3)
	go func() { defer s.wg.Done(); s.readRTP() }()
	go func() { defer s.wg.Done(); s.readRTCP() }()
	go func() { defer s.wg.Done(); s.clock() }()
	if s.video != nil {
		s.video.start()
	}
}

// Video is the negotiated video codec; ok is false for a session
// without video.
func (s *Session) Video() (c VideoCodec, ok bool) {
	if s.video == nil {
		return VideoCodec{}, false
	}
	return s.video.codec, true
}

// VideoPort is the session's local video RTP port (RTCP is the next
// one), 0 without video.
func (s *Session) VideoPort() int { return s.videoPort() }

func (s *Session) videoPort() int {
	if s.video == nil {
		return 0
	}
	return s.video.port
}

// Answer is the SDP answer to the session's latest offer.
func (s *Session) Answer() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answer
}

// Codec is the negotiated audio codec.
func (s *Session) Codec() Codec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.codec
}

// Direction is the direction of the remote party's latest offer.
func (s *Session) Direction() Direction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.dir
}

// Port is the session's local RTP port (RTCP is the next one).
func (s *Session) Port() int { return s.port }

// Update takes a new offer for the session (a SIP re-INVITE or UPDATE)
// and returns the answer: the remote address, packet time, DTMF payload
// type and direction (hold: sendonly or inactive; unhold: sendrecv) may
// change, for video too. So may the audio codec: the session keeps its
// codec while the offer carries it, and otherwise takes the offer's first
// that Tessera speaks; an attached session then has the room read its
// microphone, and send its mix, in the new codec (Link.MixCodec). An
// offer the session cannot take is an error, and the session goes on as
// it was. A session set up without video refuses video later; one with
// video whose new offer has no video stream in its codec (or refuses it)
// stops its video until an offer brings it back.
func (s *Session) Update(offer string) (string, error) {
	select {
	case <-s.done:
		return "", ErrClosed
	default:
	}
	keep := s.Codec()
	wanted := videoWanted{allowed: s.video != nil}
	if s.video != nil {
		wanted.keep = &s.video.codec
	}
	p, err := parseOffer(offer, &keep, wanted)
	if err != nil {
		return "", err
	}
	if p.r.secure != (s.sec != nil) {
		return "", ErrSecurityChange
	}
	var key, vkey []byte
	if s.sec != nil {
		if err := s.sec.rekey(p.r.crypto); err != nil {
			return "", err
		}
		key = s.sec.local
	}
	if p.video >= 0 && s.video.sec != nil {
		if err := s.video.sec.rekey(p.v.crypto); err != nil {
			return "", err
		}
		vkey = s.video.sec.local
	}
	ans, from, err := s.take(p, key, vkey)
	if err != nil {
		return "", err
	}
	if from != p.r.codec.Name {
		s.changeCodec(from, p.r.codec.Name)
	}
	return ans, nil
}

// take makes p the session's latest offer and returns the answer and the
// audio codec the session had.
func (s *Session) take(p parsedOffer, key, vkey []byte) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ans, err := answer(p, s.eng.sdpIP, s.port, s.videoPort(), s.id, s.version+1, key, vkey)
	if err != nil {
		return "", "", err
	}
	old := s.r
	s.version++
	s.answer = ans
	s.r = p.r
	if p.r.rtp != old.rtp {
		// A new address: send there until RTP shows the way again.
		s.sendTo, s.latched = p.r.rtp, false
	}
	if p.r.rtcp != old.rtcp {
		s.rtcpTo, s.rtcpLatched = p.r.rtcp, false
	}
	if old.dir != p.r.dir {
		s.log.Info("plain RTP direction changed", "from", old.dir, "to", p.r.dir)
	}
	if v := s.video; v != nil {
		v.active = p.video >= 0
		if v.active {
			if p.v.rtp != v.r.rtp {
				v.sendTo, v.latched = p.v.rtp, false
			}
			if p.v.rtcp != v.r.rtcp {
				v.rtcpTo = p.v.rtcp
			}
			v.r = p.v
		}
	}
	// The inactivity timeout starts afresh (a party back from hold).
	s.lastRTP.Store(time.Now().UnixNano())
	return ans, old.codec.Name, nil
}

// TargetBitrate is 0: a plain-RTP party gives no bandwidth estimate.
func (s *Session) TargetBitrate() int { return 0 }

// Done is closed when the session ends, by itself (see Err) or by Close.
func (s *Session) Done() <-chan struct{} { return s.ended }

// Err is why the session ended: an error wrapping ErrInactive, ErrClosed
// after Close, nil while it runs.
func (s *Session) Err() error {
	select {
	case <-s.ended:
		return s.endErr
	default:
		return nil
	}
}

// end ends the session for reason; the first reason sticks.
func (s *Session) end(reason error) bool {
	first := false
	s.endOnce.Do(func() {
		s.endErr = reason
		close(s.ended)
		first = true
	})
	return first
}

// Close ends the session: its sockets close, its goroutines (and the
// room's reader of its microphone) end and are waited for, and its ports
// go back to the engine. The room is told (ConnClosed) unless the
// session already failed. Close may be called more than once.
func (s *Session) Close() error {
	s.closing.Do(func() {
		byItself := s.Err() != nil
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.end(ErrClosed)
		close(s.done)
		s.closeErr = errors.Join(s.rtp.Close(), s.rtcp.Close())
		if s.video != nil {
			s.closeErr = errors.Join(s.closeErr, s.video.close())
		}
		s.wg.Wait()
		s.eng.ports.give(s.port)
		if s.video != nil {
			s.eng.ports.give(s.video.port)
		}
		s.mu.Lock()
		link := s.link
		s.mu.Unlock()
		if link != nil && !byItself {
			link.State(s, endpoint.ConnClosed)
		}
	})
	return s.closeErr
}

// Stats are the session's counters so far.
func (s *Session) Stats() Stats {
	st := s.stats.snapshot()
	if s.video != nil {
		st.Video = s.video.stats.snapshot()
	}
	return st
}

// ReadRTP gives the next microphone packet of the current codec's track
// (see Update). It ends with io.EOF once the session is closed, with
// ErrInactive once it timed out.
func (s *Session) ReadRTP() (*rtp.Packet, error) {
	s.mu.Lock()
	mic := s.mic
	s.mu.Unlock()
	return mic.ReadRTP()
}
