package sip

import (
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Session timers (RFC 4028) of calls Tessera places: the INVITE asks for
// Config.SessionExpires with the callee as refresher; the callee's 2xx
// decides, and Tessera then refreshes by UPDATE or expects the callee's
// refreshes as for calls that come in. A 422 is retried once with the
// interval it asks for.

// DefaultSessionExpires is the session interval a dial-out call asks for.
const DefaultSessionExpires = 1800 * time.Second

// sessionOffer are the session timer headers of a dial-out INVITE; minSE,
// when above Config.MinSE, is the Min-SE a 422 asked for.
func (s *Server) sessionOffer(minSE time.Duration) []sip.Header {
	if s.cfg.SessionExpires < 0 {
		return []sip.Header{sip.NewHeader("Supported", "timer")}
	}
	floor := max(s.cfg.MinSE, minSE)
	interval := max(s.cfg.SessionExpires, floor)
	return []sip.Header{
		sip.NewHeader("Supported", "timer"),
		// In the INVITE Tessera is the UAC: "uas" asks the callee to
		// refresh, which it may overrule in its 2xx.
		sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", int(interval/time.Second), refresherUAS)),
		sip.NewHeader("Min-SE", fmt.Sprintf("%d", int(floor/time.Second))),
	}
}

// retryAfter422 turns a dial-out INVITE refused with 422 into its retry:
// the same dialog identifiers, the next CSeq, the interval the 422's
// Min-SE asks for. It reports false when the 422 names no usable Min-SE
// or Tessera cannot ask for a session timer.
func (s *Server) retryAfter422(req *sip.Request, res *sip.Response) bool {
	h := res.GetHeader("Min-SE")
	if h == nil || s.cfg.SessionExpires < 0 {
		return false
	}
	minSE, _, err := deltaSeconds(h.Value())
	if err != nil || minSE == 0 || minSE > 24*time.Hour {
		return false
	}
	for _, name := range []string{"Via", "Supported", "Session-Expires", "Min-SE"} {
		req.RemoveHeader(name)
	}
	for _, h := range s.sessionOffer(minSE) {
		req.AppendHeader(h)
	}
	if cseq := req.CSeq(); cseq != nil {
		cseq.SeqNo++
	}
	return true
}

// answeredTimer is the session timer a dial-out call's 2xx confirms
// (nil: none). The 2xx's refresher names the roles of the INVITE, where
// Tessera was the UAC; the timer's refresher names them as a request
// from the callee would, so the two are swapped.
func (s *Server) answeredTimer(res *sip.Response) *sessionTimer {
	h := res.GetHeader("Session-Expires")
	if h == nil {
		h = res.GetHeader("x")
	}
	if h == nil {
		return nil // the callee does not do session timers
	}
	interval, params, err := deltaSeconds(h.Value())
	if err != nil || interval == 0 {
		return nil
	}
	st := &sessionTimer{s: s, interval: max(interval, s.cfg.MinSE), refresher: refresherUAS, supported: true}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "refresher") && strings.EqualFold(strings.TrimSpace(v), refresherUAS) {
			st.refresher = refresherUAC // the callee refreshes
		}
	}
	for _, a := range res.GetHeaders("Allow") {
		st.useUpdate = st.useUpdate || hasToken(a.Value(), "UPDATE")
	}
	if st.refresher == refresherUAS && !st.useUpdate {
		// Tessera refreshes only with UPDATE; a callee that takes none
		// and leaves the refreshing to Tessera gets no timer from it.
		return nil
	}
	if ct := res.Contact(); ct != nil {
		st.target = ct.Address
	}
	return st
}
