package plainrtp

import (
	"context"
	"errors"

	"github.com/pion/rtp"

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
// Close waits for). With video, the room also sends the composite, no
// larger than the party's frame size allows (Media.MaxPictureSize), and
// reads the party's camera on another goroutine; a room that has no
// composite for it (audio-only, or no tier small enough) still takes the
// camera, and the party gets no picture. The room hears ConnUp once the
// party's RTP flows. A session attaches once; on an error the caller
// closes it.
func (s *Session) Attach(ctx context.Context, m Member) error {
	s.mu.Lock()
	attached := s.attached
	s.attached = true
	codec := s.r.codec.Name
	mic := s.mic
	s.mu.Unlock()
	if attached {
		return ErrAttached
	}
	link := m.NewLink()
	media := endpoint.Media{Audio: s, AudioCodec: codec, Sends: true, Link: link, Kind: endpoint.KindRTP}
	if v := s.video; v != nil {
		media.Video, media.VideoCodec, media.MaxPictureSize = v, v.codec.Name, v.codec.MaxPictureSize()
	}
	err := m.Attach(ctx, s, media)
	if err != nil && media.Video != nil && errors.Is(err, endpoint.ErrNoComposite) {
		s.log.Info("plain RTP: the room has no composite for the party; it gets no picture", "err", err)
		media.Video, media.VideoCodec, media.MaxPictureSize = nil, "", 0
		err = m.Attach(ctx, s, media)
	}
	if err != nil {
		return err
	}
	// What arrived before the room was there is stale.
	drain(mic.queue)
	if s.video != nil {
		drain(s.video.queue)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.link = link
	flowing := s.flowing
	now := s.r.codec.Name // a new offer may have changed it meanwhile
	s.wg.Add(1)           // under mu: Close waits only once closed is set
	if s.video != nil {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		link.ReadAudioCodec(s, mic, codec)
	}()
	if v := s.video; v != nil {
		go func() {
			defer s.wg.Done()
			link.ReadVideo(s, v, v.codec.Name, v)
		}()
	}
	if now != codec {
		s.changeCodec(codec, now)
	}
	if flowing && s.upSent.CompareAndSwap(false, true) {
		link.State(s, endpoint.ConnUp)
	}
	return nil
}

// drain empties a packet queue.
func drain(q chan *rtp.Packet) {
	for {
		select {
		case <-q:
		default:
			return
		}
	}
}
