package rtc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// MaxRemoteCandidates bounds the ICE candidates one media session takes
// from its client, trickled and in offers together. A browser gathers a
// handful (a few dozen on a host with many interfaces); every candidate
// taken is checked by the ICE agent, which sends STUN requests to its
// address, so without a bound a client could make the server send them to
// as many addresses as it liked. An ICE restart (an offer with new ICE
// credentials) starts the count again: the agent forgets the old ones.
const MaxRemoteCandidates = 50

// remoteCandidates is what one media session has taken of its client's
// candidates (under its peerConn's lock; it travels with the
// PeerConnection).
type remoteCandidates struct {
	ufrag string // the client's ICE username fragment they belong to
	seen  map[string]struct{}
}

// candidateKey is a candidate's line without the "a=" and "candidate:"
// prefixes the two ways of sending it (SDP, trickle) may carry.
func candidateKey(c string) string {
	c = strings.TrimSpace(c)
	c = strings.TrimPrefix(c, "a=")
	return strings.TrimPrefix(c, "candidate:")
}

// reset starts the count for a new media session or ICE restart with the
// candidates of its offer.
func (rc *remoteCandidates) reset(ufrag string, offered []string) {
	rc.ufrag = ufrag
	rc.seen = make(map[string]struct{}, len(offered))
	for _, c := range offered {
		rc.seen[c] = struct{}{}
	}
}

// afterOffer is how many candidates the session would hold after an offer
// with this ICE username fragment and these candidates.
func (rc *remoteCandidates) afterOffer(ufrag string, offered []string) int {
	if ufrag != rc.ufrag {
		return len(offered)
	}
	n := len(rc.seen)
	for _, c := range offered {
		if _, ok := rc.seen[c]; !ok {
			n++
		}
	}
	return n
}

// applyOffer counts an offer's candidates in (the caller checked that they
// fit with afterOffer).
func (rc *remoteCandidates) applyOffer(ufrag string, offered []string) {
	if ufrag != rc.ufrag || rc.seen == nil {
		rc.reset(ufrag, offered)
		return
	}
	for _, c := range offered {
		rc.seen[c] = struct{}{}
	}
}

// admit returns those of cs that are new and fit under the bound, and how
// many new ones did not fit. A candidate seen before is neither: the agent
// has it already. End-of-candidates markers (empty) always pass.
func (rc *remoteCandidates) admit(cs []Candidate) (take []Candidate, refused int) {
	if rc.seen == nil {
		rc.seen = make(map[string]struct{})
	}
	for _, c := range cs {
		k := candidateKey(c.Candidate)
		if k == "" {
			take = append(take, c)
			continue
		}
		if _, ok := rc.seen[k]; ok {
			continue
		}
		if len(rc.seen) >= MaxRemoteCandidates {
			refused++
			continue
		}
		rc.seen[k] = struct{}{}
		take = append(take, c)
	}
	return take, refused
}

// AddCandidates adds remote ICE candidates trickled by the client, a whole
// batch after one trip to the room goroutine. An empty candidate marks the
// end of the client's candidates. Candidates beyond MaxRemoteCandidates
// for the participant's media session are refused (ErrTooManyCandidates);
// the others are still added. It returns how many were handed to the ICE
// agent.
func AddCandidates(ctx context.Context, m Member, cs []Candidate) (int, error) {
	conn, err := m.Connection(ctx)
	if err != nil {
		return 0, err
	}
	c, ok := conn.(*peerConn)
	if !ok {
		return 0, fmt.Errorf("%w: no WebRTC media session yet", ErrInvalidCandidate)
	}
	c.mu.Lock()
	take, refused := c.cands.admit(cs)
	c.mu.Unlock()
	var errs []error
	added := 0
	for _, cand := range take {
		if err := c.pc.AddICECandidate(cand.init()); err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", ErrInvalidCandidate, err))
			continue
		}
		added++
	}
	if refused > 0 {
		errs = append(errs, fmt.Errorf("%w: %d refused (at most %d per media session)", ErrTooManyCandidates, refused, MaxRemoteCandidates))
	}
	return added, errors.Join(errs...)
}

// AddCandidate adds one remote ICE candidate trickled by the client (see
// AddCandidates).
func AddCandidate(ctx context.Context, m Member, c Candidate) error {
	_, err := AddCandidates(ctx, m, []Candidate{c})
	return err
}

// Candidate is a remote ICE candidate as a client trickles it (the fields
// of a browser's RTCIceCandidateInit). An empty Candidate line marks the
// end of the client's candidates.
type Candidate struct {
	Candidate        string
	SDPMid           *string
	SDPMLineIndex    *uint16
	UsernameFragment *string
}

func (c Candidate) init() webrtc.ICECandidateInit {
	return webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
}
