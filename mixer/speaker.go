package mixer

import "time"

// DefaultSpeakerHold is how long a new talker must stay the loudest before
// the picture follows it, when NewSpeakerHold is given no duration.
const DefaultSpeakerHold = 1500 * time.Millisecond

// SpeakerHold decides whom the picture shows as the active speaker. The
// loudest talker changes with every laugh and "mm-hm"; a layout that
// followed it would jump around, so a challenger takes over only after it
// has been the loudest, without interruption, for the hold time. Silence
// keeps the current speaker on screen.
//
// It is not safe for concurrent use; the room's owner calls Update once
// per tick.
type SpeakerHold struct {
	hold      time.Duration
	current   SourceID
	candidate SourceID
	since     time.Time // when candidate became the loudest
}

// NewSpeakerHold returns a SpeakerHold with nobody on screen. hold <= 0
// means DefaultSpeakerHold.
func NewSpeakerHold(hold time.Duration) *SpeakerHold {
	if hold <= 0 {
		hold = DefaultSpeakerHold
	}
	return &SpeakerHold{hold: hold}
}

// Hold is the hold time in force.
func (s *SpeakerHold) Hold() time.Duration { return s.hold }

// Speaker is the participant on screen, 0 for none.
func (s *SpeakerHold) Speaker() SourceID { return s.current }

// Update takes this tick's loudest talker (0 when nobody talks) and returns
// the speaker to show. With nobody on screen, the first talker is shown at
// once.
func (s *SpeakerHold) Update(loudest SourceID, now time.Time) SourceID {
	switch {
	case loudest == 0 || loudest == s.current:
		s.candidate = 0
	case s.current == 0:
		s.current, s.candidate = loudest, 0
	case loudest != s.candidate:
		s.candidate, s.since = loudest, now
	case now.Sub(s.since) >= s.hold:
		s.current, s.candidate = loudest, 0
	}
	return s.current
}

// Forget drops a participant who left. If it was on screen, the next
// Update shows whoever is loudest then, without waiting.
func (s *SpeakerHold) Forget(id SourceID) {
	if id == 0 {
		return
	}
	if s.current == id {
		s.current = 0
	}
	if s.candidate == id {
		s.candidate = 0
	}
}
