package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tessera-mcu/tessera/internal/loglimit"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/signaling/lockout"
)

// allowed is what the Allow header lists: every method Tessera answers.
const allowed = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO"

// accepted is what the Accept header lists: the bodies Tessera reads.
const accepted = "application/sdp, application/dtmf-relay"

// Server is the SIP user agent: it listens on the configured addresses,
// answers INVITEs by joining the dialled room, and owns every call until
// it ends.
type Server struct {
	cfg     Config
	rooms   Rooms
	media   Media
	log     *slog.Logger
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	client  *sipgo.Client
	flood   *floodLimit
	guesses *lockout.Limiter
	stats   counters
	// locateLog limits the lines about a room directory that cannot be
	// read.
	locateLog loglimit.Limiter

	mu    sync.Mutex
	calls map[string]*call // by dialog ID
	// acks are the calls answered with Tessera's offer (an INVITE
	// without SDP) waiting for the ACK that carries the answer.
	acks map[string]*ackWait
	// dialing are the dial-out calls placed and not yet answered calls
	// in the table (see Hangup).
	dialing map[room.CallID]dialingCall
	closed  bool
	// stackClosed: the SIP stack is closed; no request is taken.
	stackClosed bool
	started     bool
	listeners   []net.Addr
	conns       []interface{ Close() error }
	closing     chan struct{}
	// base is cancelled as Close begins: it bounds dial-out calls still
	// ringing.
	base       context.Context
	cancelBase context.CancelFunc
	done       chan struct{} // closed when Close has finished
	closeOnce  sync.Once

	// requests: handlers running on the SIP stack's goroutines. callsWG:
	// the calls' goroutines. serving: the listeners' read loops.
	requests, callsWG, serving sync.WaitGroup
}

// New checks cfg and returns a server that dials callers into rooms
// with their media made by media. It listens once Listen or
// ListenAndServe is called.
func New(cfg Config, rooms Rooms, media Media) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if rooms == nil || media == nil {
		return nil, fmt.Errorf("%w: rooms and media are required", ErrInvalidConfig)
	}
	s := &Server{
		cfg:     cfg,
		rooms:   rooms,
		media:   media,
		log:     cfg.Logger.With("component", "sip"),
		flood:   newFloodLimit(cfg.InviteRate, cfg.InviteBurst),
		guesses: cfg.Lockout,
		calls:   map[string]*call{},
		acks:    map[string]*ackWait{},
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if s.guesses == nil {
		s.guesses = lockout.New(lockout.Options{Logger: cfg.Logger})
	}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	stackLog := slog.New(newQuietHandler(s.log.Handler()))
	s.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgenTLSConfig(cfg.DialTLS),
		sipgo.WithUserAgentTransportLayerOptions(
			sip.WithTransportLayerLogger(stackLog),
			sip.WithTransportLayerReadFilter(s.readFilter)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(stackLog)),
	)
	if err != nil {
		return nil, fmt.Errorf("sip: user agent: %w", err)
	}
	if s.srv, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(stackLog)); err != nil {
		_ = s.ua.Close()
		return nil, fmt.Errorf("sip: server: %w", err)
	}
	if s.client, err = sipgo.NewClient(s.ua, sipgo.WithClientLogger(stackLog)); err != nil {
		_ = s.ua.Close()
		return nil, fmt.Errorf("sip: client: %w", err)
	}
	for m, h := range s.routes() {
		s.srv.OnRequest(m, s.handle(h))
	}
	s.srv.OnNoRoute(s.handle(s.onUnsupported))
	return s, nil
}

// routes are the handlers of the methods Tessera answers (see allowed).
func (s *Server) routes() map[sip.RequestMethod]sipgo.RequestHandler {
	return map[sip.RequestMethod]sipgo.RequestHandler{
		sip.INVITE:  s.onInvite,
		sip.ACK:     s.onAck,
		sip.BYE:     s.onBye,
		sip.CANCEL:  s.onCancel,
		sip.OPTIONS: s.onOptions,
		sip.UPDATE:  s.onUpdate,
		sip.INFO:    s.onInfo,
	}
}

// dispatch handles a request as the SIP stack would hand it over.
func (s *Server) dispatch(req *sip.Request, tx sip.ServerTransaction) {
	h, ok := s.routes()[req.Method]
	if !ok {
		h = s.onUnsupported
	}
	s.handle(h)(req, tx)
}

// handle wraps a request handler: it is counted so that Close waits for
// it, a request arriving while the server closes gets 503, and one that
// lacks what every request must carry gets 400.
func (s *Server) handle(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		inDialog := req.To() != nil && req.To().Params.Has("tag")
		s.mu.Lock()
		// While the server closes, the requests of its calls' dialogs
		// (the ACK of a 200 OK, a BYE) still count; new calls do not.
		closed := s.stackClosed || (s.closed && !inDialog)
		if !closed {
			s.requests.Add(1)
		}
		s.mu.Unlock()
		if closed {
			if !req.IsAck() {
				s.refuse(req, tx, ErrClosed)
			}
			return
		}
		defer s.requests.Done()
		if err := validate(req); err != nil {
			s.stats.malformed.Add(1)
			if !req.IsAck() {
				s.refuse(req, tx, err)
			}
			return
		}
		h(req, tx)
	}
}

// Listen opens the configured UDP and TCP addresses.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return nil
	}
	if s.cfg.UDP != "-" {
		pc, err := net.ListenPacket("udp", s.cfg.UDP)
		if err != nil {
			return fmt.Errorf("sip: listen udp %s: %w", s.cfg.UDP, err)
		}
		s.conns = append(s.conns, pc)
		s.listeners = append(s.listeners, pc.LocalAddr())
	}
	if s.cfg.TCP != "-" {
		l, err := net.Listen("tcp", s.cfg.TCP)
		if err != nil {
			for _, c := range s.conns {
				_ = c.Close()
			}
			s.conns, s.listeners = nil, nil
			return fmt.Errorf("sip: listen tcp %s: %w", s.cfg.TCP, err)
		}
		s.conns = append(s.conns, l)
		s.listeners = append(s.listeners, l.Addr())
	}
	if s.cfg.TLS != "" {
		l, err := tls.Listen("tcp", s.cfg.TLS, s.cfg.TLSConfig)
		if err != nil {
			for _, c := range s.conns {
				_ = c.Close()
			}
			s.conns, s.listeners = nil, nil
			return fmt.Errorf("sip: listen tls %s: %w", s.cfg.TLS, err)
		}
		s.conns = append(s.conns, tlsListener{l})
		s.listeners = append(s.listeners, tlsAddr{l.Addr()})
	}
	s.started = true
	for _, c := range s.conns {
		s.serving.Add(1)
		go func() {
			defer s.serving.Done()
			var err error
			switch c := c.(type) {
			case net.PacketConn:
				err = s.srv.ServeUDP(c)
			case tlsListener:
				err = s.srv.ServeTLS(c.Listener)
			case net.Listener:
				err = s.srv.ServeTCP(c)
			}
			if err != nil && !errors.Is(err, net.ErrClosed) && !s.isClosed() {
				s.log.Warn("SIP listener stopped", "err", err)
			}
		}()
	}
	for _, a := range s.listeners {
		s.log.Info("SIP listening", "network", a.Network(), "addr", a.String())
	}
	return nil
}

// Addrs are the addresses the server listens on (after Listen).
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]net.Addr(nil), s.listeners...)
}

// ListenAndServe listens (unless Listen was called) and serves until ctx
// ends or Close is called; then it closes the server and returns nil.
func (s *Server) ListenAndServe(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return s.Close()
	case <-s.closing:
		<-s.done
		return nil
	}
}

func (s *Server) isClosed() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// Close ends every call with a BYE, stops listening and waits for every
// goroutine the server started and every request being handled.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.closing)
		s.mu.Unlock()
		s.cancelBase()
		s.callsWG.Wait() // each call's goroutine sends its BYE
		err := s.ua.Close()
		s.mu.Lock()
		s.stackClosed = true
		for _, c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		s.serving.Wait()
		s.requests.Wait()
		if err != nil {
			s.log.Debug("closing the SIP stack", "err", err)
		}
		close(s.done)
	})
	<-s.done
	return nil
}

// Calls is how many calls are up (answered and not yet ended).
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// MediaPorts are the media port pairs of calls: all, and those held (0,
// 0 when the media layer does not count them).
func (s *Server) MediaPorts() (total, used int) {
	if p, ok := s.media.(interface{ Ports() (int, int) }); ok {
		return p.Ports()
	}
	return 0, 0
}

// Stats are the server's counters so far.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// respond sends a response to req with Tessera's Server header.
func (s *Server) respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string, body []byte, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, body)
	res.AppendHeader(sip.NewHeader("Server", s.cfg.UserAgent))
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("SIP response not sent", "code", code, "method", req.Method, "err", err)
	}
}

// refuse answers req with the final response err calls for.
func (s *Server) refuse(req *sip.Request, tx sip.ServerTransaction, err error) {
	r := refuse(err)
	s.respond(req, tx, r.code, r.reason, nil, s.refusalHeaders(r.code)...)
}

// refusalHeaders are the headers a response of code needs.
func (s *Server) refusalHeaders(code int) []sip.Header {
	switch code {
	case 405:
		return []sip.Header{sip.NewHeader("Allow", allowed)}
	case 415:
		return []sip.Header{sip.NewHeader("Accept", accepted)}
	case 422:
		return []sip.Header{sip.NewHeader("Min-SE", strconv.Itoa(int(s.cfg.MinSE/time.Second)))}
	}
	return nil
}

// contact is Tessera's Contact for a request that arrived on req's
// transport: the listening address, with the request's host when the
// server listens on every interface.
func (s *Server) contact(req *sip.Request) sip.ContactHeader {
	network := strings.ToLower(req.Transport())
	uri := sip.Uri{Scheme: "sip", Host: req.Recipient.Host, Port: req.Recipient.Port}
	for _, a := range s.Addrs() {
		if !strings.HasPrefix(a.Network(), network) {
			continue
		}
		host, port, err := net.SplitHostPort(a.String())
		if err != nil {
			continue
		}
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
			uri.Host = host
		}
		uri.Port, _ = strconv.Atoi(port)
		break
	}
	if network == "tcp" || network == "tls" {
		uri.UriParams = sip.NewParams()
		uri.UriParams.Add("transport", network)
	}
	return sip.ContactHeader{Address: uri}
}

// tlsListener marks the TLS listener among the server's listeners.
type tlsListener struct{ net.Listener }

// tlsAddr is the TLS listener's address, telling its network as "tls".
type tlsAddr struct{ net.Addr }

func (tlsAddr) Network() string { return "tls" }

// Stats count what the server did.
type Stats struct {
	// Answered calls; Refused INVITEs (any final response but 2xx, 487
	// and 503 for the flood limit); Cancelled INVITEs; RateLimited
	// INVITEs; Malformed requests (400); Redirected INVITEs (302 to the
	// node that hosts the room, Config.Locator).
	Answered, Refused, Cancelled, RateLimited, Malformed, Redirected uint64
}

type counters struct {
	answered, refused, cancelled, rateLimited, malformed, redirected atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{Answered: c.answered.Load(), Refused: c.refused.Load(), Cancelled: c.cancelled.Load(),
		RateLimited: c.rateLimited.Load(), Malformed: c.malformed.Load(), Redirected: c.redirected.Load()}
}
