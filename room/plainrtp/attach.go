package plainrtp

import (
	"context"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// Member is the room participant a session is attached to: what the
// session needs of the room (a room's Member method gives one).
type Member interface {
	// NewLink makes the Link the connection reports through.
	NewLink() endpoint.Link
	// Attach gives the participant its connection.
	Attach(ctx context.Context, conn endpoint.Connection, m endpoint.Media) error
}

// Attach makes the session participant m's media connection: the room
// sends the participant's mix, in the session's codec, to the session,
// and reads its microphone from it on a goroutine of the session's (which
// Close waits for). The room hears ConnUp once the party's RTP flows. A
// session attaches once; on an error the caller closes it.
func (s *Session) Attach(ctx context.Context, m Member) error {
	s.mu.Lock()
	attached := s.attached
	s.attached = true
	codec := s.r.codec.Name
	s.mu.Unlock()
	if attached {
		return ErrAttached
	}
	link := m.NewLink()
	err := m.Attach(ctx, s, endpoint.Media{Audio: s, AudioCodec: codec, Sends: true, Link: link, Kind: endpoint.KindRTP})
	if err != nil {
		return err
	}
	// What arrived before the room was there is stale.
	for drained := false; !drained; {
		select {
		case <-s.queue:
		default:
			drained = true
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.link = link
	flowing := s.flowing
	s.wg.Add(1) // under mu: Close waits only once closed is set
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		link.ReadAudioCodec(s, s, codec)
	}()
	if flowing && s.upSent.CompareAndSwap(false, true) {
		link.State(s, endpoint.ConnUp)
	}
	return nil
}
