package room

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-mcu/tessera/codec/opus"
	"github.com/tessera-mcu/tessera/internal/loglimit"
	"github.com/tessera-mcu/tessera/mixer"
)

// Config describes a room.
type Config struct {
	// ID of the room; 0 picks a random one.
	ID          RoomID
	Description string
	// Secret, if set, is required to edit or destroy the room.
	Secret string
	// Pin, if set, is required to join.
	Pin string
	// MaxParticipants caps the room (0: no cap).
	MaxParticipants int
	// AudioLevelEvents publishes talking and stopped-talking events.
	AudioLevelEvents bool
	// Audio tunes talker selection (K, thresholds, hangover).
	Audio mixer.AudioConfig
	// AudioBitrate of each encoded mix, in bits per second. Default 32000.
	AudioBitrate int
	// Video configures the composite picture.
	Video VideoConfig
	// HLS lets the room be watched over HLS (the server serves its
	// composite and full mix while someone watches).
	HLS bool
}

const tick = 20 * time.Millisecond

// maxCatchUp bounds how many late ticks a room runs back to back before it
// gives up on them (the worker was starved): beyond it, ticks are skipped
// and counted.
const maxCatchUp = 5

// maxVideoCatchUp is how many late composites a room still makes (right
// after the one due now) when its worker was held up: a hiccup of up to
// two frame intervals costs no frame, a longer one skips the rest.
const maxVideoCatchUp = 1

// Room is one conference. Its state belongs to one goroutine (the worker it
// is assigned to); every method hands its work to that goroutine and waits,
// so methods are safe to call from any goroutine.
type Room struct {
	id     RoomID
	cfg    Config
	metaMu sync.Mutex // guards cfg.Description, cfg.Secret, cfg.Pin
	mgr    *Manager   // nil for a room made alone (tests)
	log    *slog.Logger
	events hub
	cmds   chan func()
	done   chan struct{}
	closed atomic.Bool
	weight atomic.Int64
	placed atomic.Pointer[placement] // set once the room is on a worker
	// onFail ends the room after its tick panicked (set by the manager
	// before the room's first tick; called on the worker, must not block).
	onFail func(r *Room, err error)

	// What room lists read without a trip to the room goroutine, which
	// updates them as they change (see Summary, LastStats).
	members     atomic.Int32
	allMuted    atomic.Bool
	recordingOn atomic.Bool
	// streamsOn counts the room's live streams (for lists).
	streamsOn atomic.Int32
	lastStats atomic.Pointer[RoomStats]

	// Owned by the room goroutine.
	parts    map[ParticipantID]*participant
	order    []*participant
	audio    *mixer.Audio
	roomMute bool
	start    time.Time
	frames   int64
	obs      []mixer.Observation
	mixIn    []mixer.Frame
	encoders map[mixer.MixID]*opus.Encoder
	spare    []*opus.Encoder
	packets  map[mixer.MixID][]byte
	// Mixes in codecs other than Opus (G.711, G.722) for plain-RTP
	// listeners: their encoders, and this tick's payloads (nil: failed).
	codecEncoders map[codecMixKey]codecMixEncoder
	codecPackets  map[codecMixKey][]byte
	// switching: mixes that listeners move to in this tick.
	switching map[mixer.MixID]bool
	encBuf    []byte
	loudest   mixer.SourceID
	audioGap  int64 // skipped audio ticks to fold into the next packet

	rec         *recorder // recording in progress
	streams     map[StreamID]*stream
	recStarting bool       // a recording's file is being created
	video       *roomVideo // nil: audio-only room
	decode      *decodePool
	vframes     int64

	stats roomCounters
	// count is the manager's media counters (the room's own for a room
	// made alone).
	count  *counters
	errLog struct{ mix, encode, video, claims loglimit.Limiter }
}

type roomCounters struct {
	ticks, skippedTicks, encodeErrors atomic.Uint64
	mixErrors, videoErrors            atomic.Uint64
	encoders, maxEncoders             atomic.Int64
	encodersCreated                   atomic.Uint64
	busy                              atomic.Int64 // nanoseconds spent in tick
}

func newRoom(cfg Config, mgr *Manager, decode *decodePool, log *slog.Logger) (*Room, error) {
	if cfg.ID == 0 {
		cfg.ID = RoomID(randomID())
	}
	if uint64(cfg.ID) > maxID {
		return nil, fmt.Errorf("%w: room ID %d exceeds 2^53-1", ErrInvalidConfig, cfg.ID)
	}
	if cfg.AudioBitrate == 0 {
		cfg.AudioBitrate = 32000
	}
	if cfg.AudioBitrate < opus.MinBitrate || cfg.AudioBitrate > opus.MaxBitrate {
		return nil, fmt.Errorf("%w: audio bitrate %d", ErrInvalidConfig, cfg.AudioBitrate)
	}
	if cfg.MaxParticipants < 0 {
		return nil, fmt.Errorf("%w: max participants %d", ErrInvalidConfig, cfg.MaxParticipants)
	}
	audio, err := mixer.NewAudio(cfg.Audio)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	cfg.Audio = audio.Config()
	var video *roomVideo
	if !cfg.Video.Disabled {
		if err := cfg.Video.setDefaults(); err != nil {
			return nil, err
		}
		if video, err = newRoomVideo(cfg.Video); err != nil {
			return nil, err
		}
	}
	r := &Room{
		video:        video,
		decode:       decode,
		id:           cfg.ID,
		cfg:          cfg,
		mgr:          mgr,
		log:          log.With("room", cfg.ID),
		cmds:         make(chan func(), 256),
		done:         make(chan struct{}),
		parts:        make(map[ParticipantID]*participant),
		audio:        audio,
		encoders:     make(map[mixer.MixID]*opus.Encoder),
		packets:      make(map[mixer.MixID][]byte),
		codecPackets: make(map[codecMixKey][]byte),
		switching:    make(map[mixer.MixID]bool),
		encBuf:       make([]byte, opus.MaxPacketBytes),
	}
	r.count = new(counters)
	if mgr != nil {
		r.count = &mgr.count
	}
	r.publishStats()
	return r, nil
}

// ID is the room's ID.
func (r *Room) ID() RoomID { return r.id }

// HasVideo reports whether the room composes video (false: audio-only).
func (r *Room) HasVideo() bool { return r.video != nil }

// Config is the room's configuration (defaults filled in).
func (r *Room) Config() Config {
	r.metaMu.Lock()
	defer r.metaMu.Unlock()
	return r.cfg
}

// CheckSecret reports whether secret may manage the room.
func (r *Room) CheckSecret(secret string) bool {
	r.metaMu.Lock()
	defer r.metaMu.Unlock()
	return equalSecret(r.cfg.Secret, secret)
}

// CheckPin reports whether pin may join the room.
func (r *Room) CheckPin(pin string) bool {
	r.metaMu.Lock()
	defer r.metaMu.Unlock()
	return equalSecret(r.cfg.Pin, pin)
}

// Edit changes a room's description, secret or pin (nil: unchanged).
func (r *Room) Edit(description, secret, pin *string) {
	r.metaMu.Lock()
	defer r.metaMu.Unlock()
	if description != nil {
		r.cfg.Description = *description
	}
	if secret != nil {
		r.cfg.Secret = *secret
	}
	if pin != nil {
		r.cfg.Pin = *pin
	}
}

func equalSecret(want, got string) bool {
	return want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// Subscribe returns a subscription to the room's events with room for buf
// undelivered events (0: 256).
func (r *Room) Subscribe(buf int) *Subscription { return r.events.subscribe(buf) }

func (r *Room) publish(e Event) {
	if r.aboutViewer(e) {
		return
	}
	e.Room = r.id
	r.events.publish(e)
}

// cost estimates the room's CPU load for the worker pool.
func (r *Room) cost() int64 { return r.weight.Load() }

func (r *Room) place(pl *placement) { r.placed.Store(pl) }

func (r *Room) fail(err error) {
	if r.onFail != nil {
		r.onFail(r, err)
	}
}

// skipped tells the room's worker of audio frames and composite pictures
// the room gave up on.
func (r *Room) skipped(audio, video uint64) {
	if pl := r.placed.Load(); pl != nil {
		pl.skipped(audio, video)
	}
}

func (r *Room) addCost(delta int64) {
	r.weight.Add(delta)
	if pl := r.placed.Load(); pl != nil {
		pl.adjust(delta)
	}
}

// exec runs fn on the room goroutine and waits for it.
func (r *Room) exec(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	select {
	case r.cmds <- func() { fn(); close(done) }:
	case <-r.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-r.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// post queues fn for the room goroutine without waiting for it to run
// (for callbacks from pion's goroutines and the recorder). It blocks only
// while the queue is full, which the tick empties every 20 ms, and gives up
// when the room ends: what it carries (a new input, a connection state, a
// failed disk) must not be lost.
func (r *Room) post(fn func()) {
	select {
	case r.cmds <- fn:
	case <-r.done:
	}
}

// tick runs the room's due work; the worker calls it.
func (r *Room) tick(now time.Time) time.Time {
	start := time.Now()
	defer func() { r.stats.busy.Add(int64(time.Since(start))) }()
	runHook(&testHooks.tick, r)
	for drained := false; !drained; {
		select {
		case fn := <-r.cmds:
			fn()
		default:
			drained = true
		}
	}
	if r.start.IsZero() {
		r.start = now
	}
	due := int64(now.Sub(r.start)/tick) + 1
	if behind := due - r.frames; behind > maxCatchUp {
		r.stats.skippedTicks.Add(uint64(behind - 1))
		r.skipped(uint64(behind-1), 0)
		r.frames = due - 1
		// The next packet of every mix covers the skipped time, so RTP
		// time stays on the room clock (no sequence gap: nothing sent was
		// lost).
		r.audioGap = behind - 1
	}
	for r.frames < due {
		r.audioTick()
		r.frames++
		r.stats.ticks.Add(1)
		if r.frames%25 == 0 {
			r.checkMedia(now)
		}
		if r.frames%50 == 0 {
			r.checkLinks(now)
			r.publishStats()
		}
	}
	next := r.start.Add(time.Duration(r.frames) * tick)
	if r.video == nil {
		return next
	}
	period := r.video.period()
	vdue := int64(now.Sub(r.start)/period) + 1
	if behind := vdue - r.vframes; behind > 1+maxVideoCatchUp {
		// Late by more than a hiccup: composites are only worth sending
		// from now on. The next frame covers the skipped time on the RTP
		// clock.
		r.video.skipped += uint64(behind - 1 - maxVideoCatchUp)
		r.skipped(0, uint64(behind-1-maxVideoCatchUp))
		r.video.gap += behind - 1 - maxVideoCatchUp
		r.vframes = vdue - 1 - maxVideoCatchUp
	}
	if r.vframes < vdue {
		r.videoTick(now)
		r.vframes++
	}
	if vnext := r.start.Add(time.Duration(r.vframes) * period); vnext.Before(next) {
		return vnext
	}
	return next
}

// destroy ends the room: every participant is dropped and its media
// closed. The manager has already taken the room off its worker.
func (r *Room) destroy() { r.destroyWith("") }

// ReasonFailed is the Reason of the EventDestroyed of a room that a bug
// (a recovered panic) ended.
const ReasonFailed = "internal error"

// destroyFailed ends a room whose tick panicked.
func (r *Room) destroyFailed(err error) {
	r.log.Error("room ended by an internal error", "err", err)
	r.destroyWith(ReasonFailed)
}

// destroyWith is destroy; reason (empty for a destroy that was asked for)
// goes with the EventDestroyed. The room's state may be half updated (a
// tick panicked, or one panics now): whatever its cleanup does, every
// connection is closed and every subscriber told and let go.
func (r *Room) destroyWith(reason string) {
	if !r.closed.CompareAndSwap(false, true) {
		return
	}
	close(r.done)
	conns := make([]Connection, 0, len(r.order))
	for _, p := range r.order {
		if p.conn != nil {
			conns = append(conns, p.conn)
		}
	}
	defer func() {
		if v := recover(); v != nil {
			recovered(v, &panics.tick, r.log, "cleaning up a room panicked")
			reason = ReasonFailed
		}
		r.publish(Event{Kind: EventDestroyed, Reason: reason})
		r.events.closeAll()
		for _, conn := range conns {
			r.closeConn(conn)
		}
		r.log.Info("room destroyed", "reason", reason)
		r.tellDestroyed(reason)
	}()
	for _, p := range r.order {
		r.detachMedia(p)
		r.publish(Event{Kind: EventLeft, Participant: p.id, Info: p.info(), Reason: "destroyed"})
	}
	r.releaseSeats(len(r.parts))
	r.parts, r.order = map[ParticipantID]*participant{}, nil
	r.members.Store(0)
	for _, enc := range r.encoders {
		enc.Close()
	}
	for _, enc := range r.spare {
		enc.Close()
	}
	r.encoders, r.spare = nil, nil
	clear(r.codecPackets)
	r.dropIdleCodecMixes()
	if rec := r.detachRecorder("room destroyed"); rec != nil {
		<-rec.done
	}
	r.detachStreams("room destroyed")
	if r.video != nil {
		r.video.close()
	}
}
