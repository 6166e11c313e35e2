package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tessera-mcu/tessera/room"
)

// Dial places a call from room r to a SIP URI (sip: or sips: with a
// host; anything else is an error wrapping room.ErrInvalidValue). It
// returns at once, once the room was told the call is dialing; the call
// goes on on a goroutine of the server's: ringing (180, 183), answered
// (200: the callee joins the room as a participant named after the URI's
// user, its media attached), busy (486, 600, 603) or failed (any other
// refusal, no answer within Config.DialTimeout: CANCEL), and once
// answered it is a call like those that come in, until hung up. Every
// step reaches the room as a call event (room.NotifyCall). Close ends a
// call still ringing with a CANCEL, an answered one with a BYE.
func (s *Server) Dial(ctx context.Context, r *room.Room, uri string) (room.CallInfo, error) {
	target, name, err := dialTarget(uri)
	if err != nil {
		return room.CallInfo{}, err
	}
	if _, err := s.dialNetwork(target); err != nil {
		return room.CallInfo{}, fmt.Errorf("%w: %w", room.ErrInvalidValue, err)
	}
	off, ok := s.media.(Offerer)
	if !ok {
		return room.CallInfo{}, ErrNoDialOut
	}
	if err := ctx.Err(); err != nil {
		return room.CallInfo{}, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return room.CallInfo{}, ErrClosed
	}
	s.callsWG.Add(1)
	info := room.CallInfo{ID: room.NewCallID(), URI: uri}
	placed, hangup := context.WithCancelCause(s.base)
	if s.dialing == nil {
		s.dialing = make(map[room.CallID]dialingCall)
	}
	s.dialing[info.ID] = dialingCall{room: r, hangup: hangup}
	s.mu.Unlock()
	r.NotifyCall(info, room.CallDialing, "")
	go func() {
		defer s.callsWG.Done()
		defer hangup(nil)
		defer s.undial(info.ID)
		s.dialOut(placed, r, target, name, info, off)
	}()
	return info, nil
}

// dialingCall is a dial-out call placed and not answered yet: its room,
// and how to end it (the INVITE's context, cancelled with errHungUp).
type dialingCall struct {
	room   *room.Room
	hangup context.CancelCauseFunc
}

// undial takes a dial-out call off the dialing table: once it is in the
// call table, or before the room hears that it failed (a hangup after
// that finds no call).
func (s *Server) undial(id room.CallID) {
	s.mu.Lock()
	delete(s.dialing, id)
	s.mu.Unlock()
}

// errHungUp is why a dial-out call ends when the room hangs it up.
var errHungUp = errors.New("sip: hung up by the room")

// reasonHungUp is the reason the room's event gives for such a call.
const reasonHungUp = "hung up by the room"

// Hangup ends dial-out call id of room r: a call still ringing is
// cancelled (CANCEL), an answered one ended (BYE, its participant leaves).
// It returns at once; the call's end reaches the room as a hung-up call
// event with reason "hung up by the room". A call that is not r's or is
// over is an error wrapping room.ErrCallNotFound.
func (s *Server) Hangup(_ context.Context, r *room.Room, id room.CallID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		if c := s.outCall(r, id); c != nil {
			c.end(errHungUp)
			return nil
		}
		if d, ok := s.dialing[id]; ok && d.room == r {
			d.hangup(errHungUp)
			return nil
		}
	}
	return fmt.Errorf("%w: %d", room.ErrCallNotFound, id)
}

// outCall is r's answered dial-out call id, or nil (s.mu held).
func (s *Server) outCall(r *room.Room, id room.CallID) *call {
	for _, c := range s.calls {
		if c.out != nil && c.out.ID == id && c.room == r {
			return c
		}
	}
	return nil
}

// dialTarget checks a dialled URI: sip: or sips:, with a host. name is
// who the callee becomes in the room: its user part, or its host.
func dialTarget(uri string) (sip.Uri, string, error) {
	var u sip.Uri
	raw := strings.TrimSpace(uri)
	if len(raw) > 1024 || strings.ContainsAny(raw, "\r\n<>\" ") {
		return u, "", fmt.Errorf("%w: %q is not a SIP URI", room.ErrInvalidValue, uri)
	}
	lower := strings.ToLower(raw)
	if !strings.HasPrefix(lower, "sip:") && !strings.HasPrefix(lower, "sips:") {
		return u, "", fmt.Errorf("%w: %q is not a sip: or sips: URI", room.ErrInvalidValue, uri)
	}
	if err := sip.ParseUri(raw, &u); err != nil || u.Host == "" {
		return u, "", fmt.Errorf("%w: %q names no host", room.ErrInvalidValue, uri)
	}
	name := u.User
	if name == "" {
		name = u.Host
	}
	return u, displayName(&sip.FromHeader{DisplayName: name}), nil
}

// Reasons a dial-out call fails or ends, as the room's call events give
// them.
const (
	reasonNoAnswer = "no answer"
	reasonClosing  = "server closing"
)

// dialOut runs one dial-out call: the INVITE, its answer, the join, then
// the call as any other (call.run). placed ends with errHungUp when the
// room hangs the call up before it is in the call table.
func (s *Server) dialOut(placed context.Context, r *room.Room, target sip.Uri, name string, info room.CallInfo, off Offerer) {
	failed := func(state, reason string, err error) {
		s.undial(info.ID)
		s.log.Info("SIP dial-out ended", "room", r.ID(), "uri", info.URI, "state", state, "reason", reason, "err", err)
		r.NotifyCall(info, state, reason)
	}
	var owner atomic.Pointer[call]
	mc, offer, err := off.Offer(func(key rune) {
		if c := owner.Load(); c != nil {
			s.digit(c, key)
		}
	})
	if err != nil {
		failed(room.CallFailed, "no media ports", err)
		return
	}
	ok := false
	defer func() {
		if !ok {
			_ = mc.Close()
		}
	}()
	req, err := s.inviteRequest(target, offer)
	if err != nil {
		failed(room.CallFailed, "cannot reach "+target.Host, err)
		return
	}
	ctx, cancel := context.WithTimeoutCause(placed, s.cfg.DialTimeout, errNoAnswer)
	defer cancel()
	dlg, err := s.invite(ctx, req, func() { r.NotifyCall(info, room.CallRinging, "") })
	if err != nil {
		if dlg == nil && errors.Is(context.Cause(ctx), errHungUp) {
			failed(room.CallHungUp, reasonHungUp, err) // before the INVITE went
			return
		}
		if dlg == nil {
			failed(room.CallFailed, "cannot reach "+target.Host, err)
			return
		}
		s.unanswered(dlg)
		state, reason := refusedCall(ctx, err)
		failed(state, reason, err)
		return
	}
	id, err := outDialogKey(dlg.InviteResponse)
	if err == nil {
		err = dlg.Ack(context.Background())
	}
	if err != nil {
		_ = dlg.Close()
		failed(room.CallFailed, "broken answer", err)
		return
	}
	bye := func() {
		bctx, bcancel := context.WithTimeout(context.Background(), s.cfg.ByeTimeout)
		_ = dlg.Bye(bctx)
		bcancel()
	}
	if err := mc.Answered(dlg.InviteResponse.Body()); err != nil {
		bye()
		failed(room.CallFailed, "no usable audio in the answer", err)
		return
	}
	jctx, jcancel := context.WithTimeout(s.base, 10*time.Second)
	defer jcancel()
	joined, err := r.Enter(jctx, room.JoinRequest{Display: name, Pin: r.Config().Pin})
	if err != nil {
		bye()
		failed(room.CallFailed, "cannot join the room: "+err.Error(), err)
		return
	}
	pid := joined.Me.ID
	info.Participant = pid
	c := &call{s: s, id: id, dlg: &outDialog{DialogClientSession: dlg}, room: r, pid: pid, media: mc,
		source: dlg.InviteResponse.Source(), sub: r.Subscribe(16), stop: make(chan struct{}),
		answer: offer, out: &info, session: s.answeredTimer(dlg.InviteResponse)}
	if err := mc.Attach(jctx, r.Member(pid)); err != nil {
		c.sub.Close()
		s.leave(r, pid)
		bye()
		failed(room.CallFailed, "media: "+err.Error(), err)
		return
	}
	if !s.register(c) {
		c.sub.Close()
		s.leave(r, pid)
		bye()
		failed(room.CallFailed, reasonClosing, ErrClosed)
		return
	}
	ok = true
	owner.Store(c)
	s.undial(info.ID) // from now on Hangup finds the call in the table
	if errors.Is(context.Cause(placed), errHungUp) {
		c.end(errHungUp) // hung up while it was being answered
	}
	c.session.start(c)
	s.stats.answered.Add(1)
	s.log.Info("SIP dial-out up", "room", r.ID(), "participant", pid, "uri", info.URI)
	r.NotifyCall(info, room.CallAnswered, "")
	c.run()
}

// invite sends a dial-out INVITE and waits for its final answer,
// answering digest challenges and retrying once after a 422 (session
// interval too small); ringing is called at the first 180 or 183. The
// dialog is nil when the INVITE could not be sent at all.
func (s *Server) invite(ctx context.Context, req *sip.Request, ringing func()) (*sipgo.DialogClientSession, error) {
	ua := sipgo.DialogUA{Client: s.client, ContactHDR: *req.Contact(), RewriteContact: true}
	var rang sync.Once
	opts := sipgo.AnswerOptions{
		Username: s.cfg.Username, Password: s.cfg.Password,
		OnResponse: func(res *sip.Response) error {
			if res.StatusCode == 180 || res.StatusCode == 183 {
				rang.Do(ringing)
			}
			return nil
		},
	}
	for retried := false; ; retried = true {
		dlg, err := ua.WriteInvite(ctx, req)
		if err != nil {
			return nil, err
		}
		err = dlg.WaitAnswer(ctx, opts)
		res := dlg.InviteResponse
		if err == nil || retried || res == nil || res.StatusCode != 422 || !s.retryAfter422(dlg.InviteRequest, res) {
			return dlg, err
		}
		_ = dlg.Close()
		req = dlg.InviteRequest
	}
}

// errNoAnswer is why a dial-out call still ringing at its timeout ends.
var errNoAnswer = errors.New("sip: no answer")

// refusedCall is the state and reason of a call that got no 2xx.
func refusedCall(ctx context.Context, err error) (state, reason string) {
	var res *sipgo.ErrDialogResponse
	if errors.As(err, &res) {
		code := res.Res.StatusCode
		reason := strconv.Itoa(code) + " " + res.Res.Reason
		switch code {
		case 486, 600, 603:
			return room.CallBusy, reason
		}
		return room.CallFailed, reason
	}
	var res2 sipgo.ErrDialogResponse
	if errors.As(err, &res2) {
		return refusedCall(ctx, &res2)
	}
	switch {
	case errors.Is(context.Cause(ctx), errHungUp):
		return room.CallHungUp, reasonHungUp
	case errors.Is(context.Cause(ctx), errNoAnswer):
		return room.CallFailed, reasonNoAnswer
	case ctx.Err() != nil:
		return room.CallFailed, reasonClosing
	}
	return room.CallFailed, "unreachable"
}

// unanswered cleans up after an INVITE that got no 2xx. A 2xx that
// crossed the CANCEL gets its ACK and a BYE at once.
func (s *Server) unanswered(dlg *sipgo.DialogClientSession) {
	if res := dlg.InviteResponse; res != nil && res.IsSuccess() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ByeTimeout)
		defer cancel()
		if dlg.Ack(ctx) == nil {
			_ = dlg.Bye(ctx)
		}
	}
	_ = dlg.Close()
}

// outDialogKey is the table key of a dial-out call: its dialog ID as the
// callee's requests compute it (Call-ID, Tessera's tag, the callee's).
func outDialogKey(res *sip.Response) (string, error) {
	if res == nil || res.CallID() == nil || res.From() == nil || res.To() == nil {
		return "", fmt.Errorf("%w: answer lacks Call-ID, From or To", ErrBadRequest)
	}
	local, _ := res.From().Params.Get("tag")
	remote, ok := res.To().Params.Get("tag")
	if !ok || local == "" || remote == "" {
		return "", fmt.Errorf("%w: answer has no To tag", ErrBadRequest)
	}
	return sip.DialogIDMake(res.CallID().Value(), local, remote), nil
}

// inviteRequest builds the INVITE of a call to target: through the
// outbound proxy if one is set, from the UDP listener (TCP if UDP is
// off), with Tessera's From, Contact and User-Agent.
func (s *Server) inviteRequest(target sip.Uri, offer []byte) (*sip.Request, error) {
	network, err := s.dialNetwork(target)
	if err != nil {
		return nil, err
	}
	dest := s.cfg.Outbound
	if dest == "" {
		port := target.Port
		if port == 0 {
			port = 5060
			if network == "tls" {
				port = 5061
			}
		}
		dest = net.JoinHostPort(target.Host, strconv.Itoa(port))
	}
	local, err := s.localAddr(network, dest)
	if err != nil {
		return nil, err
	}
	req := sip.NewRequest(sip.INVITE, target)
	req.SetTransport(strings.ToUpper(network))
	req.SetDestination(dest)
	if network == "udp" {
		// Sent from the listening socket, so that the callee's requests
		// come back where the server reads.
		req.Laddr = sip.Addr{IP: local.ip, Port: local.port}
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "tessera", Host: local.host, Port: local.port}}
	if target.Scheme == "sips" {
		contact.Address.Scheme = "sips" // RFC 3261 section 8.1.1.8
	}
	if network != "udp" {
		contact.Address.UriParams = sip.NewParams()
		contact.Address.UriParams.Add("transport", network)
	}
	from := sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "tessera", Host: local.host}, Params: sip.NewParams()}
	if s.cfg.From != "" {
		from.DisplayName, _ = sip.ParseAddressValue(s.cfg.From, &from.Address, &from.Params)
	}
	from.Params.Add("tag", sip.GenerateTagN(16))
	to := sip.ToHeader{Address: sip.Uri{Scheme: target.Scheme, User: target.User, Host: target.Host, Port: target.Port}, Params: sip.NewParams()}
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(&contact)
	req.AppendHeader(sip.NewHeader("User-Agent", s.cfg.UserAgent))
	req.AppendHeader(sip.NewHeader("Allow", allowed))
	for _, h := range s.sessionOffer(0) {
		req.AppendHeader(h)
	}
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(offer)
	return req, nil
}

// dialNetwork is the transport a dial-out INVITE to target goes over:
// TLS for a sips: URI or transport=tls (which need the TLS listener, so
// that the callee's requests have somewhere to come back to), else the
// URI's transport, else UDP (TCP when UDP is off).
func (s *Server) dialNetwork(target sip.Uri) (string, error) {
	network := "udp"
	if s.cfg.UDP == "-" {
		network = "tcp"
	}
	if target.UriParams != nil {
		if t, ok := target.UriParams.Get("transport"); ok {
			network = strings.ToLower(t)
		}
	}
	if target.Scheme == "sips" {
		network = "tls"
	}
	switch network {
	case "udp", "tcp":
	case "tls":
		if s.cfg.TLS == "" {
			return "", fmt.Errorf("%w: dialling over TLS needs the TLS listener (Config.TLS)", ErrInvalidConfig)
		}
	default:
		return "", fmt.Errorf("%w: transport %s", ErrInvalidConfig, network)
	}
	return network, nil
}

// localAddr is where Tessera sends from on network to dest: the
// listening address, with the local address the system routes to dest
// by when the server listens on every interface.
type localAddr struct {
	ip   net.IP // nil: any (a new TCP connection)
	host string
	port int
}

func (s *Server) localAddr(network, dest string) (localAddr, error) {
	var a localAddr
	for _, l := range s.Addrs() {
		if !strings.HasPrefix(l.Network(), network) {
			continue
		}
		host, port, err := net.SplitHostPort(l.String())
		if err != nil {
			continue
		}
		a.port, _ = strconv.Atoi(port)
		a.ip, a.host = net.ParseIP(host), host
		break
	}
	if a.port == 0 {
		return a, fmt.Errorf("%w: not listening on %s (call Listen first)", ErrClosed, network)
	}
	if a.ip == nil || a.ip.IsUnspecified() {
		// A connected UDP socket sends nothing; it only picks the route.
		c, err := net.Dial("udp", dest)
		if err != nil {
			return a, err
		}
		a.host = c.LocalAddr().(*net.UDPAddr).IP.String()
		_ = c.Close()
	}
	if network != "udp" {
		a.ip = nil // a new TCP or TLS connection binds any local port
	}
	return a, nil
}

// outDialog is the dialog of a call Tessera placed, as a call holds it.
// The callee's requests carry CSeq numbers of its own, which start
// anywhere: the first one is taken, and later ones must not go back.
type outDialog struct {
	*sipgo.DialogClientSession
	mu   sync.Mutex
	cseq uint32
	seen bool
}

func (d *outDialog) ReadRequest(req *sip.Request, _ sip.ServerTransaction) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := req.CSeq().SeqNo
	if d.seen && n <= d.cseq {
		return sipgo.ErrDialogInvalidCseq
	}
	d.cseq, d.seen = n, true
	return nil
}

// hangupReason is why an answered dial-out call ended, as the room's
// hung-up event gives it.
func hangupReason(why error) string {
	switch {
	case errors.Is(why, errRemoteBye):
		return "hung up"
	case errors.Is(why, errHungUp):
		return reasonHungUp
	case errors.Is(why, errKicked):
		return "kicked"
	case errors.Is(why, errDestroyed):
		return "room destroyed"
	case errors.Is(why, errMediaEnded):
		return "no media"
	case errors.Is(why, ErrClosed):
		return reasonClosing
	}
	return why.Error()
}

// SendDigits sends DTMF keys into dial-out call id of room r (an IVR or
// another bridge asking for a PIN). It checks the request and returns at
// once; the keys go out on a goroutine of the server's, about 170 ms a
// key, after any sent before to the same call, until the call ends. A
// call that is not r's, not answered yet or over is an error wrapping
// room.ErrCallNotFound; keys that are not DTMF keys wrap
// room.ErrInvalidValue, a callee that did not offer telephone-events
// room.ErrCallNoDTMF.
func (s *Server) SendDigits(_ context.Context, r *room.Room, id room.CallID, keys string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.outCall(r, id)
	if c == nil || s.closed {
		return fmt.Errorf("%w: %d", room.ErrCallNotFound, id)
	}
	if err := c.media.CheckDigits(keys); err != nil {
		return err
	}
	s.callsWG.Add(1)
	go func() {
		defer s.callsWG.Done()
		// The session stops sending when the call's media closes, and
		// the server's context ends with Close.
		if err := c.media.SendDigits(s.base, keys); err != nil && s.base.Err() == nil {
			s.log.Debug("SIP digits not all sent", "room", r.ID(), "call", id, "err", err)
		}
	}()
	return nil
}
