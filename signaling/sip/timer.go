package sip

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Session timers (RFC 4028) of calls that came in: a call whose INVITE
// asks for one is refreshed by re-INVITE or UPDATE every interval, and
// ended with a BYE when a refresh does not come.

// DefaultMinSE is the shortest session interval Tessera accepts (RFC
// 4028's Min-SE floor).
const DefaultMinSE = 90 * time.Second

// Who refreshes a session (the refresher parameter). The parameter names
// roles of the transaction it is carried in: in a request from the
// other party, or Tessera's answer to one, "uac" is that party and "uas"
// Tessera; in a request Tessera sends, "uac" is Tessera. A sessionTimer's
// refresher is always read the first way.
const (
	refresherUAC = "uac"
	refresherUAS = "uas"
)

// errSessionExpired is why a call ends when its session interval passed
// without a refresh; errRefreshFailed when Tessera's own refresh failed.
var (
	errSessionExpired = errors.New("sip: session expired (no refresh)")
	errRefreshFailed  = errors.New("sip: session refresh failed")
)

// sessionRequest is what a request asks of the session timer.
type sessionRequest struct {
	interval  time.Duration // 0: no Session-Expires
	refresher string        // "" when the request leaves it open
	supported bool          // Supported: timer (or Require: timer)
	minSE     time.Duration // the request's Min-SE, 0 if none
}

// readSessionRequest reads Session-Expires (or its compact form x),
// Min-SE and Supported/Require of req.
func readSessionRequest(req *sip.Request) (sessionRequest, error) {
	var sr sessionRequest
	for _, name := range []string{"Supported", "k", "Require"} {
		for _, h := range req.GetHeaders(name) {
			if hasToken(h.Value(), "timer") {
				sr.supported = true
			}
		}
	}
	if h := req.GetHeader("Min-SE"); h != nil {
		secs, _, err := deltaSeconds(h.Value())
		if err != nil {
			return sr, fmt.Errorf("%w: Min-SE: %v", ErrBadRequest, err)
		}
		sr.minSE = secs
	}
	h := req.GetHeader("Session-Expires")
	if h == nil {
		h = req.GetHeader("x")
	}
	if h == nil {
		return sr, nil
	}
	secs, params, err := deltaSeconds(h.Value())
	if err != nil || secs == 0 {
		return sr, fmt.Errorf("%w: Session-Expires %q", ErrBadRequest, h.Value())
	}
	sr.interval = secs
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "refresher") {
			switch r := strings.ToLower(strings.TrimSpace(v)); r {
			case refresherUAC, refresherUAS:
				sr.refresher = r
			default:
				return sr, fmt.Errorf("%w: Session-Expires refresher %q", ErrBadRequest, v)
			}
		}
	}
	return sr, nil
}

// deltaSeconds parses "90;refresher=uac": the seconds and the params.
func deltaSeconds(v string) (time.Duration, []string, error) {
	parts := strings.Split(v, ";")
	n, err := strconv.ParseUint(strings.TrimSpace(parts[0]), 10, 32)
	if err != nil {
		return 0, nil, err
	}
	return time.Duration(n) * time.Second, parts[1:], nil
}

// hasToken tells whether a comma-separated header value lists tok.
func hasToken(v, tok string) bool {
	for _, t := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), tok) {
			return true
		}
	}
	return false
}

// sessionTimer is a call's session timer: the negotiated interval and
// refresher, and the timer that ends the call (refresher uac) or sends
// Tessera's refresh (uas).
type sessionTimer struct {
	s *Server
	c *call
	// useUpdate: the caller allows UPDATE, so Tessera refreshes with one.
	useUpdate bool
	target    sip.Uri

	mu        sync.Mutex
	interval  time.Duration
	refresher string
	supported bool
	t         *time.Timer
	stopped   bool
	ctx       context.Context
	cancel    context.CancelFunc
}

// negotiateTimer picks the session timer of a new call from its INVITE:
// nil when the INVITE asks for none, ErrSessionIntervalTooSmall when it
// asks for less than Config.MinSE and understands a 422.
func (s *Server) negotiateTimer(req *sip.Request) (*sessionTimer, error) {
	sr, err := readSessionRequest(req)
	if err != nil || sr.interval == 0 {
		return nil, err
	}
	st := &sessionTimer{s: s}
	if err := st.apply(sr); err != nil {
		return nil, err
	}
	if st.refresher == refresherUAS {
		for _, h := range req.GetHeaders("Allow") {
			st.useUpdate = st.useUpdate || hasToken(h.Value(), "UPDATE")
		}
		if !st.useUpdate {
			if !st.supported || sr.refresher == refresherUAS {
				// Tessera refreshes only with UPDATE: a caller that
				// cannot take one, yet wants Tessera to refresh, gets
				// no session timer.
				return nil, nil
			}
			st.refresher = refresherUAC
		}
	}
	if ct := req.Contact(); ct != nil {
		st.target = ct.Address
	}
	return st, nil
}

// apply takes the interval and refresher a request asks for; the caller
// must hold mu once the timer runs.
func (st *sessionTimer) apply(sr sessionRequest) error {
	if sr.interval < sr.minSE {
		return fmt.Errorf("%w: Session-Expires below the request's own Min-SE", ErrBadRequest)
	}
	floor := st.s.cfg.MinSE
	interval := sr.interval
	if interval < floor {
		if sr.supported {
			return fmt.Errorf("%w: %v below %v", ErrSessionIntervalTooSmall, interval, floor)
		}
		interval = floor // a caller that cannot read 422 gets the floor
	}
	refresher := sr.refresher
	if refresher == "" || !sr.supported {
		refresher = refresherUAS // left to Tessera, or the caller cannot refresh
	}
	st.interval, st.refresher, st.supported = interval, refresher, sr.supported
	return nil
}

// headers are what a 2xx answer carries of the session timer.
func (st *sessionTimer) headers() []sip.Header {
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	hs := []sip.Header{
		sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", int(st.interval/time.Second), st.refresher)),
		sip.NewHeader("Supported", "timer"),
	}
	if st.supported {
		hs = append(hs, sip.NewHeader("Require", "timer"))
	}
	return hs
}

// start runs the timer of call c from its 2xx.
func (st *sessionTimer) start(c *call) {
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stopped {
		return
	}
	st.c = c
	st.ctx, st.cancel = context.WithCancel(context.Background())
	st.t = time.AfterFunc(st.wait(), st.fire)
}

// wait is how long until the timer fires: half the interval when
// Tessera refreshes, else the interval less min(32 s, interval/3) (RFC
// 4028 section 10). The caller holds mu.
func (st *sessionTimer) wait() time.Duration {
	if st.refresher == refresherUAS {
		return st.interval / 2
	}
	return st.interval - min(32*time.Second, st.interval/3)
}

// check refuses a refresh asking for too short an interval (422); a
// refresh without Session-Expires keeps the interval and refresher.
func (st *sessionTimer) check(req *sip.Request) (sessionRequest, error) {
	if st == nil {
		return sessionRequest{}, nil
	}
	sr, err := readSessionRequest(req)
	if err != nil || sr.interval == 0 {
		return sr, err
	}
	probe := &sessionTimer{s: st.s}
	return sr, probe.apply(sr)
}

// refreshed restarts the timer after a refresh the caller sent (sr, as
// check read it) was answered 2xx, and returns the headers of that 2xx.
func (st *sessionTimer) refreshed(sr sessionRequest) []sip.Header {
	if st == nil {
		return nil
	}
	st.mu.Lock()
	if sr.interval != 0 {
		_ = st.apply(sr) // check passed it
		if st.refresher == refresherUAS && !st.useUpdate {
			st.refresher = refresherUAC
		}
	}
	st.restart()
	st.mu.Unlock()
	return st.headers()
}

// restart sets the timer for a new interval; the caller holds mu.
func (st *sessionTimer) restart() {
	if st.stopped || st.t == nil {
		return
	}
	st.t.Reset(st.wait())
}

// stop ends the timer and any refresh Tessera is sending.
func (st *sessionTimer) stop() {
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.stopped = true
	if st.t != nil {
		st.t.Stop()
		st.cancel()
	}
}

// fire ends the call (the caller's refresh did not come) or sends
// Tessera's refresh.
func (st *sessionTimer) fire() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stopped {
		return
	}
	if st.refresher == refresherUAC {
		st.c.end(errSessionExpired)
		return
	}
	// The call's goroutine holds its count until after stop, so this
	// Add cannot race the server's Wait; Close waits for the refresh.
	st.s.callsWG.Add(1)
	go st.refresh(st.ctx, st.interval, st.supported)
}

// refresh sends an offerless UPDATE within the dialog; a 2xx restarts
// the timer (from the interval it confirms), anything else ends the
// call.
func (st *sessionTimer) refresh(ctx context.Context, interval time.Duration, supported bool) {
	defer st.s.callsWG.Done()
	d, ok := st.c.dlg.(interface {
		Do(context.Context, *sip.Request) (*sip.Response, error)
	})
	if !ok {
		return
	}
	req := sip.NewRequest(sip.UPDATE, st.target)
	// Tessera sends this request, so it is the "uac" that refreshes.
	req.AppendHeader(sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", int(interval/time.Second), refresherUAC)))
	req.AppendHeader(sip.NewHeader("Supported", "timer"))
	if supported {
		req.AppendHeader(sip.NewHeader("Require", "timer"))
	}
	ctx, cancel := context.WithTimeout(ctx, max(interval/2, 2*time.Second))
	defer cancel()
	res, err := d.Do(ctx, req)
	if ctx.Err() != nil && st.isStopped() {
		return
	}
	if err != nil || !res.IsSuccess() {
		why := fmt.Errorf("%w: %v", errRefreshFailed, err)
		if err == nil {
			why = fmt.Errorf("%w: %d %s", errRefreshFailed, res.StatusCode, res.Reason)
		}
		st.c.end(why)
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if h := res.GetHeader("Session-Expires"); h != nil {
		if secs, _, err := deltaSeconds(h.Value()); err == nil && secs >= st.s.cfg.MinSE {
			st.interval = secs
		}
	}
	st.restart()
}

func (st *sessionTimer) isStopped() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.stopped
}
