// Package tier is the policy that moves a viewer of the composite between
// quality tiers by its bandwidth estimate. It is pure: the caller owns the
// clock, the estimate and the tiers, and calls Next once per check (the
// room checks once a second).
//
// An estimate below 85% of the current tier's bitrate for two checks in a
// row moves a viewer down. Going up needs five checks in a row with room
// to spare: an estimate above 120% of the next tier's bitrate, or one at
// least 130% of what the viewer gets now. The second case matters because
// a send-side estimate never climbs far above the rate actually sent (GCC
// caps its growth at 1.5 times the received rate), so a viewer on a low
// tier can only show that its link is not the limit, not how much more it
// carries: it is moved up on trial. A trial that ends in a move back down
// within Trial doubles the wait before the next one (BackoffMin up to
// BackoffMax), so a link that cannot carry the upper tier is not flooded
// every few seconds.
package tier

import "time"

// The policy's constants.
const (
	// DownVotes and UpVotes are how many checks in a row must agree
	// before a move down or up.
	DownVotes = 2
	UpVotes   = 5
	// Trial: a move down within this time of a move up means the move up
	// failed, and the next one waits longer.
	Trial = 15 * time.Second
	// BackoffMin and BackoffMax bound the wait before another move up.
	BackoffMin = 10 * time.Second
	BackoffMax = 160 * time.Second
)

// State is one viewer's tier policy state. The zero value is a viewer
// that accepts the best tier.
type State struct {
	votes   int           // consecutive checks for a move: > 0 up, < 0 down
	upAt    time.Time     // last move up
	retry   time.Time     // no move up before this
	backoff time.Duration // wait after the next failed trial
	// Floor is the best tier (lowest index) the viewer accepts: its own
	// choice, for a small screen or a slow decoder.
	Floor int
}

// Next returns the tier the viewer should be on after a check at now: cur
// when it stays. bitrates are the tiers' target bitrates, best first; bps
// is the viewer's bandwidth estimate. A move is recorded in s (as Moved
// does).
func (s *State) Next(cur, bps int, bitrates []int, now time.Time) int {
	next := cur
	switch {
	case cur < s.Floor:
		next = s.Floor
	case cur+1 < len(bitrates) && bps < bitrates[cur]*85/100:
		s.votes = min(s.votes, 0) - 1
		if s.votes <= -DownVotes {
			next = cur + 1
		}
	case cur > s.Floor && !now.Before(s.retry) &&
		(bps > bitrates[cur-1]*120/100 || bps >= bitrates[cur]*130/100):
		s.votes = max(s.votes, 0) + 1
		if s.votes >= UpVotes {
			next = cur - 1
		}
	default:
		s.votes = 0
	}
	if next != cur {
		s.Moved(cur, next, now)
	}
	return next
}

// Moved records a move from one tier to another at now: a move down
// within the trial of a move up doubles the wait before the next move up.
func (s *State) Moved(from, to int, now time.Time) {
	if to > from { // down
		if !s.upAt.IsZero() && now.Sub(s.upAt) < Trial {
			s.backoff = min(max(2*s.backoff, BackoffMin), BackoffMax)
		} else {
			s.backoff = BackoffMin
		}
		s.retry = now.Add(s.backoff)
		s.upAt = time.Time{}
	} else {
		s.upAt = now
	}
	s.votes = 0
}

// RetryIn is how long after now a move up may be tried again (0: now).
func (s *State) RetryIn(now time.Time) time.Duration { return max(s.retry.Sub(now), 0) }

// Backoff is the wait the last move down set before the next move up.
func (s *State) Backoff() time.Duration { return s.backoff }
