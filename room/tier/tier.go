// Package tier is the policy that moves a viewer of the composite between
// quality tiers by its bandwidth estimate. It is pure: the caller owns the
// clock, the estimate and the tiers, and calls Next once per check (the
// room checks once a second).
//
// An estimate below 85% of the current tier's bitrate moves a viewer down
// after two checks in a row when the viewer's receiver reports loss in
// them, and after five when they do not: a delay-based estimate also falls
// when the sender itself is late (a busy server's own scheduling reads as
// queueing), so an estimate alone must hold low for a while before it
// costs the viewer its picture. A viewer moved down on the estimate alone
// goes back up within three checks once the estimate recovers.
//
// Going up otherwise needs five checks in a row with room to spare: an
// estimate above 120% of the next tier's bitrate, or one at least 130% of
// what the viewer gets now. The second case matters because a send-side
// estimate never climbs far above the rate actually sent (GCC caps its
// growth at 1.5 times the received rate), so a viewer on a low tier can
// only show that its link is not the limit, not how much more it carries:
// it is moved up on trial. A trial that ends in a move back down (with
// loss) within Trial doubles the wait before the next one (BackoffMin up
// to BackoffMax), so a link that cannot carry the upper tier is not
// flooded every few seconds.
package tier

import "time"

// The policy's constants.
const (
	// DownVotes is how many low checks in a row move a viewer down when
	// its receiver reported loss in them; SustainedDownVotes, when it did
	// not.
	DownVotes          = 2
	SustainedDownVotes = 5
	// CorroboratingLoss is how many of the viewer's video packets lost in
	// a check (from its receiver reports) corroborate a low estimate.
	CorroboratingLoss = 2
	// UpVotes is how many good checks in a row move a viewer up;
	// RecoverVotes, back to the tier it left on the estimate alone.
	UpVotes      = 5
	RecoverVotes = 3
	// Trial: a move down within this time of a move up means the move up
	// failed, and the next one waits longer.
	Trial = 15 * time.Second
	// BackoffMin and BackoffMax bound the wait before another move up.
	BackoffMin = 10 * time.Second
	BackoffMax = 160 * time.Second
)

// Check is what one check knows of a viewer's link.
type Check struct {
	// Bps is the viewer's bandwidth estimate.
	Bps int
	// Lost counts the viewer's video packets its receiver reports said
	// were lost since the last check.
	Lost int
}

// State is one viewer's tier policy state. The zero value is a viewer
// that accepts the best tier.
type State struct {
	votes   int           // consecutive checks for a move: > 0 up, < 0 down
	lossy   bool          // loss came with the current run of low checks
	upAt    time.Time     // last move up
	retry   time.Time     // no move up before this
	backoff time.Duration // wait after the next failed trial
	// recover is 1 + the tier the viewer left on the estimate alone (0:
	// none): it goes back there on RecoverVotes good checks.
	recover int
	// Floor is the best tier (lowest index) the viewer accepts: its own
	// choice, for a small screen or a slow decoder.
	Floor int
}

// Next returns the tier the viewer should be on after a check at now: cur
// when it stays. bitrates are the tiers' target bitrates, best first. A
// move is recorded in s.
func (s *State) Next(cur int, c Check, bitrates []int, now time.Time) int {
	next := cur
	recovering := s.recover != 0 && s.recover-1 == cur-1
	switch {
	case cur < s.Floor:
		next = s.Floor
	case cur+1 < len(bitrates) && c.Bps < bitrates[cur]*85/100:
		if s.votes > 0 {
			s.votes, s.lossy = 0, false
		}
		s.votes--
		s.lossy = s.lossy || c.Lost >= CorroboratingLoss
		need := SustainedDownVotes
		if s.lossy {
			need = DownVotes
		}
		if -s.votes >= need {
			next = cur + 1
		}
	case cur > s.Floor && (recovering || !now.Before(s.retry)) &&
		(c.Bps > bitrates[cur-1]*120/100 || c.Bps >= bitrates[cur]*130/100):
		s.votes = max(s.votes, 0) + 1
		need := UpVotes
		if recovering {
			need = RecoverVotes
		}
		if s.votes >= need {
			next = cur - 1
		}
	default:
		s.votes, s.lossy = 0, false
	}
	if next != cur {
		s.moved(cur, next, now)
	}
	return next
}

// moved records a move from one tier to another at now. A move down with
// loss within the trial of a move up doubles the wait before the next
// move up; one on the estimate alone sets no wait, and remembers the tier
// to recover.
func (s *State) moved(from, to int, now time.Time) {
	switch {
	case to > from && !s.lossy:
		s.recover = from + 1
		s.retry = now
	case to > from:
		if !s.upAt.IsZero() && now.Sub(s.upAt) < Trial {
			s.backoff = min(max(2*s.backoff, BackoffMin), BackoffMax)
		} else {
			s.backoff = BackoffMin
		}
		s.retry = now.Add(s.backoff)
		s.upAt = time.Time{}
		s.recover = 0
	default:
		s.upAt = now
		s.recover = 0
	}
	s.votes, s.lossy = 0, false
}

// RetryIn is how long after now a move up may be tried again (0: now).
func (s *State) RetryIn(now time.Time) time.Duration { return max(s.retry.Sub(now), 0) }

// Backoff is the wait the last move down with loss set before the next
// move up.
func (s *State) Backoff() time.Duration { return s.backoff }
