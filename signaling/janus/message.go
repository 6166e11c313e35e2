package janus

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/pion/sdp/v3"
)

// The handle requests that reach the plugin: message (a request body for
// the plugin, perhaps with a JSEP) and trickle (ICE candidates).

func (g *Gateway) message(ctx context.Context, s *Session, h *Handle, r *request) M {
	bodyRaw, err := r.raw.object("body")
	if err != nil {
		return errReply(s.id, r.transaction, coreError(err))
	}
	var jsep *JSEP
	if r.raw.has("jsep") {
		var e *Error
		if jsep, e = parseJSEP(r.raw["jsep"]); e != nil {
			return errReply(s.id, r.transaction, e)
		}
		if jsep.Type == "answer" {
			// Tessera never sends offers, so an answer is always unexpected.
			return errReply(s.id, r.transaction, errorf(CodeUnexpectedAnswer, "Unexpected ANSWER (did we offer?)"))
		}
	}
	if !h.ps.Async(bodyRaw) {
		if jsep != nil {
			h.trickled.Store(0)
		}
		h.jsepEvent("remote", jsep)
		data, _ := h.ps.Handle(ctx, bodyRaw, jsep)
		return M{"janus": "success", "session_id": s.id, "transaction": r.transaction, "sender": h.id,
			"plugindata": M{"plugin": h.plugin.Package(), "data": data}}
	}
	tx := r.transaction
	// The request's context ends with its reply; the handle's turn may
	// come later.
	later := withClient(context.Background(), ClientAddr(ctx))
	if !h.enqueue(func() {
		h.jsepEvent("remote", jsep)
		data, answer := h.ps.Handle(later, bodyRaw, jsep)
		h.jsepEvent("local", answer)
		h.send(h.pluginEvent(tx, data, answer))
	}) {
		return h.notTaken(tx)
	}
	if jsep != nil {
		// A new offer may start a new ICE session, with new candidates
		// to trickle (the room still bounds one session's).
		h.trickled.Store(0)
	}
	return M{"janus": "ack", "session_id": s.id, "transaction": tx}
}

// parseJSEP checks a JSEP the way the Janus core does before a plugin sees
// it: a known type (464) and a parsable SDP (465).
func parseJSEP(raw json.RawMessage) (*JSEP, *Error) {
	var f fields
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, errorf(CodeInvalidElementType, "Invalid element type (jsep should be an object)")
	}
	typ, err := f.str("type", true)
	if err != nil {
		return nil, coreError(err)
	}
	sdpText, err := f.str("sdp", true)
	if err != nil {
		return nil, coreError(err)
	}
	if typ != "offer" && typ != "answer" {
		return nil, errorf(CodeJSEPUnknownType, "JSEP error: unknown message type '%s'", typ)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(sdpText); err != nil || len(sd.MediaDescriptions) == 0 || !strings.HasPrefix(strings.TrimSpace(sdpText), "v=0") {
		reason := "no media"
		if err != nil {
			reason = err.Error()
		}
		return nil, errorf(CodeJSEPInvalidSDP, "JSEP error: invalid SDP (%s)", reason)
	}
	j := &JSEP{Type: typ, SDP: sdpText}
	if t, ok := f["trickle"]; ok {
		var b bool
		if json.Unmarshal(t, &b) == nil {
			j.Trickle = &b
		}
	}
	return j, nil
}

func (g *Gateway) trickle(s *Session, h *Handle, r *request) M {
	c1, has1 := r.raw["candidate"]
	c2, has2 := r.raw["candidates"]
	if has1 && has2 {
		return errReply(s.id, r.transaction, errorf(CodeInvalidJSON, "Can't have both candidate and candidates"))
	}
	if !has1 && !has2 {
		return errReply(s.id, r.transaction, errorf(CodeMissingMandatory, "Missing mandatory element (candidate|candidates)"))
	}
	var cands []Candidate
	if has1 {
		if string(c1) == "null" {
			cands = []Candidate{{Completed: true}}
		} else {
			var c Candidate
			if err := json.Unmarshal(c1, &c); err != nil {
				return errReply(s.id, r.transaction, errorf(CodeInvalidElementType, "Invalid element type (candidate should be an object)"))
			}
			cands = []Candidate{c}
		}
	} else if err := json.Unmarshal(c2, &cands); err != nil {
		return errReply(s.id, r.transaction, errorf(CodeInvalidElementType, "Invalid element type (candidates should be an array)"))
	}
	n := int64(0)
	for _, c := range cands {
		if !c.Completed && c.Candidate == "" {
			return errReply(s.id, r.transaction, errorf(CodeMissingMandatory, "Missing mandatory element (candidate)"))
		}
		if !c.Completed {
			n++
		}
	}
	// A trickle that would take the handle beyond maxTrickled candidates
	// since its last offer is refused whole, before anything is queued, so
	// a flood costs neither the handle's queue nor the room a thing. The
	// code is 467 because that is how Janus 1.1.2 answers a trickle
	// whose candidates it cannot take as sent (a "candidates" that is not
	// an array, a candidate that is not a string): the element is there
	// (456 would say missing) and names no unknown stream (466); its value
	// is what is refused.
	if total := h.trickled.Add(n); n > 0 && total > maxTrickled {
		h.trickled.Add(-n)
		return errReply(s.id, r.transaction, errorf(CodeInvalidElementType,
			"Invalid element type (too many candidates: at most %d per offer; %d taken, %d more refused)", maxTrickled, total-n, n))
	}
	tx := r.transaction
	if !h.enqueue(func() {
		if err := h.ps.Trickle(context.Background(), cands); err != nil {
			g.log.Debug("trickle rejected", "session", s.id, "handle", h.id, "transaction", tx, "err", err)
		}
	}) {
		h.trickled.Add(-n)
		return h.notTaken(tx)
	}
	return M{"janus": "ack", "session_id": s.id, "transaction": tx}
}
