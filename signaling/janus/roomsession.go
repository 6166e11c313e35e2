package janus

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/rtc"
)

// roomSession is one handle attached to a room plugin (either flavour):
// the participant it is in a room once it joins, and the forwarding of
// that room's events to it. Its asynchronous requests run one at a time
// on the handle's goroutine; its forwarders read room and pid under mu.
type roomSession struct {
	plugin *RoomPlugin
	h      HandleContext

	// forwarders counts the goroutines forwarding room events to the
	// handle: one per room it joined, each ending with its subscription.
	// Detach waits for them.
	forwarders sync.WaitGroup

	mu   sync.Mutex
	room *room.Room
	pid  room.ParticipantID
	sub  *room.Subscription
	mids map[string]string // the offer's mid of each medium
	// media: an offer made the participant a PeerConnection that has not
	// ended since; its end is told to the client once (hangup).
	media bool
}

var _ PluginSession = (*roomSession)(nil)

// parseBody decodes a request body and names its request.
func parseBody(raw json.RawMessage) (fields, string, error) {
	var b fields
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, "", perr(abInvalidJSON, "JSON error: %v", err)
	}
	req, err := b.str("request", true)
	if err != nil {
		return nil, "", err
	}
	return b, strings.ToLower(req), nil
}

// Async implements PluginSession: join, configure, changeroom, leave and
// hangup are asynchronous, as in Janus.
func (s *roomSession) Async(raw json.RawMessage) bool {
	_, req, err := parseBody(raw)
	if err != nil {
		return false
	}
	return participantRequests[req].async
}

// Handle implements PluginSession.
func (s *roomSession) Handle(ctx context.Context, raw json.RawMessage, jsep *JSEP) (any, *JSEP) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	b, req, err := parseBody(raw)
	if err != nil {
		return pluginErrorOf(err).data(s.plugin.key), nil
	}
	data, answer, err := s.serve(ctx, req, b, jsep)
	if err != nil {
		e := pluginErrorOf(err)
		// At debug level: the client is told; a flood of wrong secrets is
		// summed up by the guess limiter's own log.
		s.plugin.log.Debug("request refused", "request", req, "code", e.code, "error", e.msg, "session", s.h.SessionID(), "handle", s.h.ID())
		return e.data(s.plugin.key), nil
	}
	return data, answer
}

// serve runs a request: a participant's or a moderator's, when the
// plugin's flavour serves it.
func (s *roomSession) serve(ctx context.Context, req string, b fields, jsep *JSEP) (M, *JSEP, error) {
	if pr, ok := participantRequests[req]; ok && s.plugin.serves(pr.video) {
		return pr.run(s, ctx, b, jsep)
	}
	if mr, ok := moderatorRequests[req]; ok && s.plugin.serves(mr.video) {
		data, err := s.moderate(ctx, mr, b)
		return data, nil, err
	}
	return nil, nil, perr(abInvalidRequest, "Unknown request '%s'", req)
}

// joined is the handle's room; 487 when it is in none.
func (s *roomSession) joined() (*room.Room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.room == nil {
		return nil, perr(abNotJoined, "Not in a room")
	}
	return s.room, nil
}

// mid is the mid of the handle's m-line of a medium.
func (s *roomSession) mid(kind string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.mids[kind]; ok {
		return m
	}
	return "0"
}

// dropRoom forgets the room if the handle is still in it, ending its
// subscription (and with it the room's forwarder).
func (s *roomSession) dropRoom(r *room.Room) {
	s.mu.Lock()
	var sub *room.Subscription
	if s.room == r {
		sub = s.sub
		s.room, s.pid, s.sub, s.media = nil, 0, nil, false
	}
	s.mu.Unlock()
	if sub != nil {
		sub.Close()
	}
}

// endMedia records that the handle's PeerConnection ended and reports
// whether it had one.
func (s *roomSession) endMedia() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	had := s.media
	s.media = false
	return had
}

// Trickle implements PluginSession: the request's candidates go to the
// room in one batch.
func (s *roomSession) Trickle(ctx context.Context, cs []Candidate) error {
	r, err := s.joined()
	if err != nil {
		return fmt.Errorf("%w: trickle before join", ErrNotInRoom)
	}
	inits := make([]rtc.Candidate, 0, len(cs))
	for _, c := range cs {
		if !c.Completed {
			inits = append(inits, rtc.Candidate{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex})
		}
	}
	if len(inits) == 0 {
		return nil
	}
	s.mu.Lock()
	pid := s.pid
	s.mu.Unlock()
	_, err = rtc.AddCandidates(ctx, r.Member(pid), inits)
	return err
}

// Hangup implements PluginSession.
func (s *roomSession) Hangup(ctx context.Context) {
	s.mu.Lock()
	r, pid := s.room, s.pid
	s.mu.Unlock()
	if r != nil {
		_ = r.Hangup(ctx, pid)
		s.endMedia()
	}
}

// Detach implements PluginSession. A handle with a PeerConnection tells
// the client it hung up before the gateway sends detached, as Janus does
// (reason "Detach"). Detach returns once the handle's forwarders have
// ended: nothing about a room follows the hangup.
func (s *roomSession) Detach(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	had := s.endMedia()
	_, _ = s.leave(ctx)
	s.forwarders.Wait()
	if had {
		s.h.HangupEvent("Detach")
	}
}
