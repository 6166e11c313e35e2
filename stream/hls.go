package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/tessera-mcu/tessera/codec/aac"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/stream/hls"
)

// Rooms finds rooms by ID (a *room.Manager).
type Rooms interface {
	Get(id room.RoomID) (*room.Room, error)
}

// HLSSource makes a room's HLS muxer when the first viewer asks for its
// playlist and ends it when the last one has gone (hls.Source): no room
// is encoded for HLS while nobody watches. Only rooms created with HLS on
// are served.
type HLSSource struct {
	rooms Rooms
	cfg   HLSConfig
	log   *slog.Logger

	mu      sync.Mutex
	running map[string]hlsRun
}

// HLSConfig tunes the HLS streams.
type HLSConfig struct {
	// Tier of the composite served (0: the room's best).
	Tier int
	// AudioBitrate of the AAC track (0: 128 kbit/s).
	AudioBitrate int
	// SegmentDuration (default 2 s) is also the streams' keyframe
	// interval, so that segments are cut where they should.
	SegmentDuration time.Duration
	// Window is the number of segments a playlist lists (default 6).
	Window int
	Logger *slog.Logger
}

type hlsRun struct {
	r  *room.Room
	id room.StreamID
}

// NewHLSSource serves the rooms of rooms.
func NewHLSSource(rooms Rooms, cfg HLSConfig) *HLSSource {
	if cfg.SegmentDuration <= 0 {
		cfg.SegmentDuration = 2 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &HLSSource{rooms: rooms, cfg: cfg, log: log, running: make(map[string]hlsRun)}
}

// hlsSink is a room stream's sink: the muxer, and the AAC encoder it
// uses, both closed when the stream ends.
type hlsSink struct {
	*hls.Muxer
	enc *aac.Encoder
}

func (s hlsSink) Close() error {
	return errors.Join(s.Muxer.Close(), s.enc.Close())
}

// Start implements hls.Source.
func (s *HLSSource) Start(name string) (*hls.Muxer, error) {
	id, err := strconv.ParseUint(name, 10, 64)
	if err != nil || id == 0 {
		return nil, fmt.Errorf("%w: %q is no room number", hls.ErrNoStream, name)
	}
	r, err := s.rooms.Get(room.RoomID(id))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", hls.ErrNoStream, err)
	}
	if !r.Config().HLS {
		return nil, fmt.Errorf("%w: room %d is not served over HLS", hls.ErrNoStream, id)
	}
	enc, err := aac.NewEncoder(aac.EncoderConfig{Bitrate: s.cfg.AudioBitrate})
	if err != nil {
		return nil, err
	}
	m, err := hls.NewMuxer(hls.Config{Audio: hlsAudio{enc}, SegmentDuration: s.cfg.SegmentDuration, Window: s.cfg.Window,
		Logger: s.log.With("room", id)})
	if err != nil {
		_ = enc.Close()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := r.StartStream(ctx, room.StreamOptions{Name: "hls", Tier: s.cfg.Tier, KeyframeInterval: s.cfg.SegmentDuration},
		hlsSink{Muxer: m, enc: enc})
	if err != nil {
		_ = m.Close()
		_ = enc.Close()
		return nil, err
	}
	// The muxer is in the process: the stream is live once started.
	r.NotifyStream(info.ID, room.StreamStreaming, "")
	s.mu.Lock()
	s.running[name] = hlsRun{r: r, id: info.ID}
	s.mu.Unlock()
	return m, nil
}

// Stop implements hls.Source: the room's stream ends (and with it the
// muxer and its encoder).
func (s *HLSSource) Stop(name string) {
	s.mu.Lock()
	run, ok := s.running[name]
	delete(s.running, name)
	s.mu.Unlock()
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := run.r.StopStream(ctx, run.id); err != nil && !errors.Is(err, room.ErrNoSuchStream) && !errors.Is(err, room.ErrClosed) {
		s.log.Warn("stopping an HLS stream", "room", name, "err", err)
	}
}
