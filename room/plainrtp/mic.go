package plainrtp

import (
	"github.com/pion/rtp"

	"github.com/tessera-mcu/tessera/room/endpoint"
)

// micTrack is the party's microphone in one codec, as the room reads it
// (an endpoint.RTPReader). A new offer that changes the codec replaces
// the track: the old one's reader ends with errReplaced, and the room
// reads the new one with a fresh jitter buffer and decoder.
type micTrack struct {
	s        *Session
	codec    string
	queue    chan *rtp.Packet
	replaced chan struct{}
}

var _ endpoint.RTPReader = (*micTrack)(nil)

func newMicTrack(s *Session, codec string) *micTrack {
	return &micTrack{s: s, codec: codec, queue: make(chan *rtp.Packet, queueLen), replaced: make(chan struct{})}
}

// ReadRTP gives the track's next packet. It ends with errReplaced once
// the codec changed, io.EOF once the session is closed, ErrInactive once
// it timed out.
func (t *micTrack) ReadRTP() (*rtp.Packet, error) {
	select {
	case p := <-t.queue:
		return p, nil
	case <-t.replaced:
		return nil, errReplaced
	case <-t.s.ended:
		return nil, t.s.readErr()
	}
}

// changeCodec moves an attached session to the codec of its latest
// offer: the room reads the microphone from a new track in that codec and
// sends the mix in it. It runs after Update has taken the offer (s.r),
// without s.mu held.
func (s *Session) changeCodec(from, to string) {
	s.mu.Lock()
	if s.closed || s.link == nil || s.mic.codec == to {
		s.mu.Unlock()
		return
	}
	old, link := s.mic, s.link
	mic := newMicTrack(s, to)
	s.mic = mic
	s.wg.Add(1) // under mu: Close waits only once closed is set
	s.mu.Unlock()
	close(old.replaced)
	s.log.Info("plain RTP audio codec changed", "from", from, "to", to)
	if err := link.MixCodec(s, to); err != nil {
		s.log.Error("the room cannot send the mix in the new codec", "codec", to, "err", err)
	}
	go func() {
		defer s.wg.Done()
		link.ReadAudioCodec(s, mic, to)
	}()
}
