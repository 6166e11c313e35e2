package room

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/tessera-mcu/tessera/codec/opus"
	"github.com/tessera-mcu/tessera/mixer"
	"github.com/tessera-mcu/tessera/room/avsync"
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
	engine *Engine
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
	lastStats   atomic.Pointer[RoomStats]

	// Owned by the room goroutine.
	parts    map[ParticipantID]*Participant
	order    []*Participant
	audio    *mixer.Audio
	roomMute bool
	start    time.Time
	frames   int64
	obs      []mixer.Observation
	mixIn    []mixer.Frame
	encoders map[mixer.MixID]*opus.Encoder
	spare    []*opus.Encoder
	packets  map[mixer.MixID][]byte
	// switching: mixes that listeners move to in this tick.
	switching map[mixer.MixID]bool
	encBuf    []byte
	loudest   mixer.SourceID
	audioGap  int64 // skipped audio ticks to fold into the next packet

	rec         *recorder  // recording in progress
	recStarting bool       // a recording's file is being created
	video       *roomVideo // nil: audio-only room
	decode      *decodePool
	vframes     int64

	stats  roomCounters
	errLog struct{ mix, encode, video, claims logLimiter }
}

type roomCounters struct {
	ticks, skippedTicks, encodeErrors atomic.Uint64
	mixErrors, videoErrors            atomic.Uint64
	encoders, maxEncoders             atomic.Int64
	encodersCreated                   atomic.Uint64
}

func newRoom(cfg Config, e *Engine, decode *decodePool, log *slog.Logger) (*Room, error) {
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
		video:     video,
		decode:    decode,
		id:        cfg.ID,
		cfg:       cfg,
		engine:    e,
		log:       log.With("room", cfg.ID),
		cmds:      make(chan func(), 256),
		done:      make(chan struct{}),
		parts:     make(map[ParticipantID]*Participant),
		audio:     audio,
		encoders:  make(map[mixer.MixID]*opus.Encoder),
		packets:   make(map[mixer.MixID][]byte),
		switching: make(map[mixer.MixID]bool),
		encBuf:    make([]byte, opus.MaxPacketBytes),
	}
	r.publishStats()
	return r, nil
}

// ID is the room's ID.
func (r *Room) ID() RoomID { return r.id }

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

// audioTick is one 20 ms step: choose talkers, decode them, mix, encode
// each distinct mix once, hand every listener its mix.
func (r *Room) audioTick() {
	if len(r.order) == 0 && r.rec == nil {
		r.audioGap = 0
		return // nobody to hear anything: an empty room costs nothing
	}
	r.obs = r.obs[:0]
	for _, p := range r.order {
		if p.in == nil {
			continue
		}
		lvl := p.in.prepare(r.log)
		// A voice at volume 0 is as good as muted: it takes no talker slot.
		inaudible := p.muted || r.roomMute || p.volume == 0
		r.obs = append(r.obs, mixer.Observation{ID: mixer.SourceID(p.id), Level: lvl, Muted: inaudible})
		r.syncPictures(p)
	}
	sel := r.audio.Select(r.obs)
	r.loudest = 0
	if len(sel.Talkers) > 0 {
		r.loudest = sel.Talkers[0]
	}
	for _, id := range sel.Started {
		r.setTalking(ParticipantID(id), true)
	}
	for _, id := range sel.Stopped {
		r.setTalking(ParticipantID(id), false)
	}
	r.mixIn = r.mixIn[:0]
	for _, p := range r.order {
		if p.in == nil {
			continue
		}
		if isTalker(sel.Talkers, p.id) {
			r.mixIn = append(r.mixIn, mixer.Frame{ID: mixer.SourceID(p.id), PCM: p.in.audio(r.log), Gain: p.volume})
		} else {
			p.in.skip()
		}
		if p.in.claims.offended {
			p.in.claims.offended = false
			r.errLog.claims.warn(r.log, "audio level claims far louder than the audio: ignoring them",
				"participant", p.id, "for", p.in.claims.distrustedFor(), "offences", p.in.claims.offences)
		}
	}
	mixes, err := r.audio.Mix(r.mixIn)
	if err != nil {
		r.stats.mixErrors.Add(1)
		r.errLog.mix.warn(r.log, "mix failed", "err", err, "errors", r.stats.mixErrors.Load())
		for _, p := range r.order {
			if p.out != nil {
				p.out.skip()
			}
		}
		return
	}

	// A listener whose mix changes (a talker falls silent, or starts) now
	// hears another encoder's stream; its decoder still holds the old one's
	// state. The first frame it gets of the new one is coded without
	// inter-frame prediction, so it decodes cleanly from any state.
	clear(r.switching)
	for _, p := range r.order {
		if p.out == nil {
			continue
		}
		id, _ := mixes.For(mixer.SourceID(p.id))
		if id != p.mix {
			r.switching[id] = true
			p.mix = id
		}
	}

	// Encode each distinct mix once.
	clear(r.packets)
	for _, id := range mixes.IDs() {
		enc, err := r.encoderFor(id)
		if err == nil {
			if r.switching[id] {
				enc.ForceKeyframe()
			}
			var n int
			if n, err = enc.Encode(mixes.PCM(id), r.encBuf); err == nil {
				r.packets[id] = append([]byte(nil), r.encBuf[:n]...)
				continue
			}
		}
		r.stats.encodeErrors.Add(1)
		r.errLog.encode.warn(r.log, "audio encode failed", "err", err, "errors", r.stats.encodeErrors.Load())
	}
	for id, enc := range r.encoders {
		if _, used := r.packets[id]; !used && id != mixer.FullMix {
			delete(r.encoders, id)
			r.spare = append(r.spare, enc)
		}
	}
	r.stats.encoders.Store(int64(len(r.encoders)))
	if n := int64(len(r.encoders)); n > r.stats.maxEncoders.Load() {
		r.stats.maxEncoders.Store(n)
	}

	r.recordAudio(r.packets[mixer.FullMix])

	// Every listener gets the packet of its mix.
	dur := tick * time.Duration(1+r.audioGap)
	r.audioGap = 0
	for _, p := range r.order {
		if p.out == nil {
			continue
		}
		if data, ok := r.packets[p.mix]; ok { // p.mix: set above
			p.out.push(media.Sample{Data: data, Duration: dur})
		} else {
			p.out.skip() // its mix failed to encode: a lost packet
		}
	}
}

// syncPictures keeps a participant's voice and pictures together (see
// package avsync): its pictures are shown as late as its voice waits, or
// its voice waits for late pictures.
func (r *Room) syncPictures(p *Participant) {
	m := avsync.Measure{VoicePlaying: p.in.playing, VoiceWait: p.in.wait}
	if p.vin != nil && r.video != nil {
		if last := p.vin.lastDecoded(); !last.IsZero() && time.Since(last) < r.video.cfg.StallTimeout {
			m.PictureLive, m.PictureWait, m.FrameInterval = true, time.Duration(p.vin.wait.Load()), r.video.period()
		}
	}
	delay, frames := p.pace.Update(avsyncConfig, m, p.in.voiceTarget())
	if m.PictureLive {
		p.vin.setPictureDelay(delay)
	}
	p.in.setVoiceTarget(frames)
}

// avsyncConfig is the lip-sync policy's bounds: the jitter buffer's and
// the pictures' (see maxPictureDelay).
var avsyncConfig = avsync.Config{Tick: tick, BaseFrames: jitterTarget, MaxFrames: maxVoiceDelayFrames,
	MaxPictureDelay: maxPictureDelay, ShrinkAfter: shrinkAfter}

func isTalker(talkers []mixer.SourceID, id ParticipantID) bool {
	for _, t := range talkers {
		if t == mixer.SourceID(id) {
			return true
		}
	}
	return false
}

// encoderFor returns the encoder of a mix, reusing an idle one if there is
// one. At most K+1 exist per room.
func (r *Room) encoderFor(id mixer.MixID) (*opus.Encoder, error) {
	if enc, ok := r.encoders[id]; ok {
		return enc, nil
	}
	if n := len(r.spare); n > 0 {
		enc := r.spare[n-1]
		r.spare = r.spare[:n-1]
		r.encoders[id] = enc
		return enc, nil
	}
	enc, err := opus.NewEncoder(opus.EncoderConfig{
		SampleRate: mixer.SampleRate, Channels: 1, Bitrate: r.cfg.AudioBitrate,
		InbandFEC: true, PacketLossPercent: 5,
	})
	if err != nil {
		return nil, fmt.Errorf("opus encoder: %w", err)
	}
	r.stats.encodersCreated.Add(1)
	r.encoders[id] = enc
	return enc, nil
}

func (r *Room) setTalking(id ParticipantID, talking bool) {
	p := r.parts[id]
	if p == nil || p.talking == talking {
		return
	}
	p.talking = talking
	if !r.cfg.AudioLevelEvents {
		return
	}
	kind := EventStoppedTalking
	if talking {
		kind = EventTalking
	}
	r.publish(Event{Kind: kind, Participant: id, Info: p.info()})
}

// checkMedia publishes media events when a participant's audio starts or
// stops arriving (no packet for a second).
func (r *Room) checkMedia(now time.Time) {
	for _, p := range r.order {
		if p.in == nil {
			continue
		}
		last := p.in.arrival.Load()
		receiving := last != 0 && now.Sub(time.Unix(0, last)) < time.Second
		if receiving != p.in.receiving {
			p.in.receiving = receiving
			r.publish(Event{Kind: EventMedia, Participant: p.id, Info: p.info(), Media: "audio", Receiving: receiving})
		}
	}
}

// JoinRequest asks for a place in the room.
type JoinRequest struct {
	// ID of the participant; 0 picks a random one.
	ID      ParticipantID
	Display string
	Pin     string
	Muted   bool
	// Volume is the gain applied to the participant's voice (nil: unity;
	// 0 silences it; up to 4).
	Volume *float32
	// VideoCodec is the preferred video codec ("vp8" or "h264"; empty:
	// H.264 when offered, else VP8).
	VideoCodec string
	// VideoTier is the best tier of the composite the participant wants
	// (0, the default: the top one). A viewer never goes above it, whatever
	// its bandwidth.
	VideoTier int
}

// Join adds a participant (without media: see Offer). It returns the
// newcomer and everyone already there.
func (r *Room) Join(ctx context.Context, req JoinRequest) (ParticipantInfo, []ParticipantInfo, error) {
	if !r.CheckPin(req.Pin) {
		return ParticipantInfo{}, nil, ErrUnauthorized
	}
	if uint64(req.ID) > maxID {
		return ParticipantInfo{}, nil, fmt.Errorf("%w: participant ID %d exceeds 2^53-1", ErrInvalidValue, req.ID)
	}
	vol := float32(1)
	if req.Volume != nil {
		vol = *req.Volume
	}
	if vol < 0 || vol > 4 {
		return ParticipantInfo{}, nil, fmt.Errorf("%w: volume %.2f (0..4)", ErrInvalidValue, vol)
	}
	if err := r.checkTier(req.VideoTier); err != nil {
		return ParticipantInfo{}, nil, err
	}
	var (
		me     ParticipantInfo
		others []ParticipantInfo
		err    error
	)
	xerr := r.exec(ctx, func() {
		if r.cfg.MaxParticipants > 0 && len(r.parts) >= r.cfg.MaxParticipants {
			err = ErrRoomFull
			return
		}
		id := req.ID
		if id == 0 {
			for id == 0 || r.parts[id] != nil {
				id = ParticipantID(randomID())
			}
		} else if r.parts[id] != nil {
			err = ErrParticipantExists
			return
		}
		for _, q := range r.order {
			others = append(others, q.info())
		}
		p := &Participant{id: id, display: req.Display, muted: req.Muted, volume: vol, joined: time.Now(), preferCodec: req.VideoCodec}
		p.tier.Floor = req.VideoTier
		r.parts[id] = p
		r.order = append(r.order, p)
		r.membersChanged()
		me = p.info()
		r.publish(Event{Kind: EventJoined, Participant: id, Info: me})
	})
	if xerr != nil {
		return ParticipantInfo{}, nil, xerr
	}
	if err != nil {
		return ParticipantInfo{}, nil, err
	}
	r.addCost(1)
	r.log.Info("participant joined", "participant", me.ID, "display", me.Display)
	return me, others, nil
}

// withParticipant runs fn on the room goroutine with participant id.
func (r *Room) withParticipant(ctx context.Context, id ParticipantID, fn func(p *Participant) error) error {
	var err error
	if xerr := r.exec(ctx, func() {
		p := r.parts[id]
		if p == nil {
			err = ErrParticipantNotFound
			return
		}
		err = fn(p)
	}); xerr != nil {
		return xerr
	}
	return err
}

// Update changes a participant's settings. Nil fields stay as they are.
type Update struct {
	Muted   *bool
	Display *string
	Volume  *float32
	// ByModerator marks a change made by someone else (a moderator's
	// mute): the participant is told too.
	ByModerator bool
	// VideoTier: see JoinRequest.
	VideoTier *int
}

// checkTier validates a participant's choice of tier.
func (r *Room) checkTier(t int) error {
	if n := r.tierCount(); t < 0 || t >= n {
		return fmt.Errorf("%w: video tier %d (0..%d)", ErrInvalidValue, t, r.tierCount()-1)
	}
	return nil
}

// Update applies u to participant id and tells the room.
func (r *Room) Update(ctx context.Context, id ParticipantID, u Update) (ParticipantInfo, error) {
	if u.Volume != nil && (*u.Volume < 0 || *u.Volume > 4) {
		return ParticipantInfo{}, fmt.Errorf("%w: volume %.2f (0..4)", ErrInvalidValue, *u.Volume)
	}
	if u.VideoTier != nil {
		if err := r.checkTier(*u.VideoTier); err != nil {
			return ParticipantInfo{}, err
		}
	}
	var info ParticipantInfo
	err := r.withParticipant(ctx, id, func(p *Participant) error {
		if u.Muted != nil {
			p.muted = *u.Muted
		}
		if u.Display != nil {
			p.display = *u.Display
		}
		if u.Volume != nil {
			p.volume = *u.Volume
		}
		if u.VideoTier != nil {
			// Applied by the next tier check (within a second): down at
			// once, up as the bandwidth estimate allows.
			p.tier.Floor = *u.VideoTier
		}
		info = p.info()
		r.publish(Event{Kind: EventUpdated, Participant: id, Info: info, ByModerator: u.ByModerator})
		return nil
	})
	return info, err
}

// SetRoomMuted mutes or unmutes everyone at once.
func (r *Room) SetRoomMuted(ctx context.Context, muted bool) error {
	return r.exec(ctx, func() {
		if r.roomMute != muted {
			r.roomMute = muted
			r.allMuted.Store(muted)
			r.publish(Event{Kind: EventRoomMuted, Muted: muted})
		}
	})
}

// RoomMuted reports whether the whole room is muted.
func (r *Room) RoomMuted(ctx context.Context) (bool, error) {
	var m bool
	err := r.exec(ctx, func() { m = r.roomMute })
	return m, err
}

// Participants lists the room's members in joining order.
func (r *Room) Participants(ctx context.Context) ([]ParticipantInfo, error) {
	var out []ParticipantInfo
	err := r.exec(ctx, func() {
		out = make([]ParticipantInfo, 0, len(r.order))
		for _, p := range r.order {
			out = append(out, p.info())
		}
	})
	return out, err
}

// Participant returns one member's state.
func (r *Room) Participant(ctx context.Context, id ParticipantID) (ParticipantInfo, error) {
	var info ParticipantInfo
	err := r.withParticipant(ctx, id, func(p *Participant) error {
		info = p.info()
		return nil
	})
	return info, err
}

// Offer takes a participant's SDP offer and returns Tessera's answer, with
// Tessera's ICE candidates in it (the client may still trickle its own).
// Audio and video each follow the offer's direction: a sendrecv m-line
// sends the participant's voice and camera and receives the mix and the
// composite; a recvonly one only receives (a viewer). A second offer
// renegotiates the same PeerConnection.
func (r *Room) Offer(ctx context.Context, id ParticipantID, offer string) (string, error) {
	info, err := r.checkOffer(offer)
	if err != nil {
		return "", err
	}
	var (
		existing *webrtc.PeerConnection
		prefer   string
	)
	if err := r.withParticipant(ctx, id, func(p *Participant) error {
		existing, prefer = p.pc.Load(), p.preferCodec
		if existing != nil {
			if n := p.cands.afterOffer(info.ufrag, info.candidates); n > MaxRemoteCandidates {
				return fmt.Errorf("%w: %w: the media session would hold %d ICE candidates (at most %d)",
					ErrInvalidSDP, ErrTooManyCandidates, n, MaxRemoteCandidates)
			}
		}
		return nil
	}); err != nil {
		return "", err
	}
	if existing != nil {
		sdpAnswer, err := answer(ctx, existing, offer)
		if err != nil {
			return "", err
		}
		// Counted once applied: an offer that failed may have left the
		// agent's candidates (and credentials) as they were.
		err = r.withParticipant(context.WithoutCancel(ctx), id, func(p *Participant) error {
			if p.pc.Load() == existing {
				p.cands.applyOffer(info.ufrag, info.candidates)
			}
			return nil
		})
		return sdpAnswer, err
	}

	pc, est, err := r.engine.newPeerConnection()
	if err != nil {
		return "", fmt.Errorf("create peer connection: %w", err)
	}
	m, err := r.setupPeer(id, pc, info, prefer)
	if err != nil {
		_ = pc.Close()
		return "", err
	}
	sdpAnswer, err := answer(ctx, pc, offer)
	if err != nil {
		m.close()
		_ = pc.Close()
		return "", err
	}
	if err := r.withParticipant(ctx, id, func(p *Participant) error {
		if !p.pc.CompareAndSwap(nil, pc) {
			return ErrAlreadyNegotiated
		}
		p.out, p.vout, p.vcodec, p.est, p.link = m.audio, m.video, m.vcodec, est, m.link
		p.cands.reset(info.ufrag, info.candidates)
		p.watchOnly = !info.audio.sends() && !info.video.sends()
		if p.vout != nil {
			r.addViewer(p, outputKey{codec: m.vcodec, tier: p.tier.Floor})
		}
		return nil
	}); err != nil {
		m.close()
		_ = pc.Close()
		return "", err
	}
	return sdpAnswer, nil
}

// CheckOffer tells whether Offer could take this SDP offer in this room
// (it parses, and has media the room carries), without applying it: a
// client that joins with an offer learns of a bad one before it joins.
func (r *Room) CheckOffer(offer string) error {
	_, err := r.checkOffer(offer)
	return err
}

func (r *Room) checkOffer(offer string) (offerInfo, error) {
	info, err := parseOffer(offer)
	if err != nil {
		return info, err
	}
	if r.video == nil {
		info.video = nil
		if info.audio == nil {
			return info, fmt.Errorf("%w: the room is audio-only and the offer has no audio", ErrNoMedia)
		}
	}
	return info, nil
}

// peerMedia is what setupPeer attached to a PeerConnection.
type peerMedia struct {
	audio, video *egress
	vcodec       string
	link         *peerLink
}

func (m peerMedia) close() {
	if m.audio != nil {
		m.audio.close()
	}
	if m.video != nil {
		m.video.close()
	}
}

// setupPeer adds the outgoing tracks and the callbacks to a fresh
// PeerConnection, before the offer is applied, so that the answer reuses
// the offer's m-lines.
func (r *Room) setupPeer(id ParticipantID, pc *webrtc.PeerConnection, info offerInfo, prefer string) (peerMedia, error) {
	m := peerMedia{link: &peerLink{r: r, id: id}}
	link := m.link
	stream := fmt.Sprintf("tessera-%d", r.id)
	if a := info.audio; a != nil {
		if a.receives() {
			track, err := webrtc.NewTrackLocalStaticSample(
				webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", stream)
			if err != nil {
				return m, err
			}
			if m.audio, err = r.addTrack(pc, track, a.answerDirection(), egressQueueLen, nil); err != nil {
				return m, err
			}
		} else if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return m, err
		}
	}
	if v := info.video; v != nil {
		m.vcodec = chooseVideoCodec(v, prefer)
		if v.receives() {
			track, err := webrtc.NewTrackLocalStaticSample(videoCapability(m.vcodec), "video", stream)
			if err != nil {
				m.close()
				return m, err
			}
			onPLI := link.keyframeRequests()
			if m.video, err = r.addTrack(pc, track, v.answerDirection(), videoQueueLen, onPLI); err != nil {
				m.close()
				return m, err
			}
		} else if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			m.close()
			return m, err
		}
	}
	pc.OnTrack(func(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		r, id := link.get()
		switch remote.Kind() {
		case webrtc.RTPCodecTypeAudio:
			r.readAudio(id, pc, remote, recv)
		case webrtc.RTPCodecTypeVideo:
			r.readVideo(id, pc, remote)
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		r, id := link.get()
		r.post(func() { r.peerState(id, pc, s) })
	})
	return m, nil
}

// peerLink tells a PeerConnection's callbacks which room and participant
// it serves now: a participant that changes rooms takes its connection
// along (see Move).
type peerLink struct {
	mu sync.Mutex
	r  *Room
	id ParticipantID
}

func (l *peerLink) get() (*Room, ParticipantID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r, l.id
}

func (l *peerLink) set(r *Room, id ParticipantID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.r, l.id = r, id
}

// keyframeRequests returns the handler of one viewer's PLIs and FIRs. A
// flood of them (a hostile or broken client) costs one queued command at a
// time: requests arriving while one waits for the tick are folded into it.
func (l *peerLink) keyframeRequests() func() {
	var pending atomic.Uint64
	return func() {
		if pending.Add(1) == 1 {
			r, id := l.get()
			r.post(func() { r.viewerWantsKeyframe(id, pending.Swap(0)) })
		}
	}
}

func (r *Room) readAudio(id ParticipantID, pc *webrtc.PeerConnection, remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	in, err := newAudioInput()
	if err != nil {
		r.log.Error("cannot create audio input", "participant", id, "err", err)
		return
	}
	r.post(func() {
		p := r.parts[id]
		if p == nil || p.pc.Load() != pc {
			in.close() // left, or hung up, meanwhile
			return
		}
		// A renegotiation that brings a new track replaces the old one,
		// whose reader ends with its track.
		if p.in != nil {
			p.in.close()
		}
		p.in = in
	})
	defer r.readerPanic(id, "audio")
	in.read(remote, audioLevelExtID(recv))
}

// readerPanic, deferred by a track's reader, recovers a panic in it: the
// track is no longer read (the input goes quiet), and the room and the
// process go on.
func (r *Room) readerPanic(id ParticipantID, media string) {
	if v := recover(); v != nil {
		recovered(v, &panics.reader, r.log, "track reader panicked; its input stops", "participant", id, "media", media)
	}
}

func (r *Room) readVideo(id ParticipantID, pc *webrtc.PeerConnection, remote *webrtc.TrackRemote) {
	if r.video == nil || r.decode == nil {
		return
	}
	name := CodecVP8
	if strings.EqualFold(remote.Codec().MimeType, webrtc.MimeTypeH264) {
		name = CodecH264
	}
	w := r.decode.bind()
	defer r.decode.unbind(w)
	in := newVideoInput(name, w, rtcpFeedback{pc: pc, ssrc: uint32(remote.SSRC())}, r.log.With("participant", id))
	registered := make(chan bool, 1)
	r.post(func() {
		p := r.parts[id]
		if p == nil || p.pc.Load() != pc {
			registered <- false
			return
		}
		if old := p.vin; old != nil {
			go old.close() // waits for a decode in flight: not on the tick
		}
		p.vin = in
		registered <- true
	})
	select {
	case ok := <-registered:
		if !ok {
			in.close()
			return
		}
	case <-r.done:
		in.close()
		return
	}
	defer r.readerPanic(id, "video")
	in.read(remote)
}

// addTrack attaches an outgoing track on a transceiver of the offer's
// direction and starts its sender's RTCP reader.
func (r *Room) addTrack(pc *webrtc.PeerConnection, track *webrtc.TrackLocalStaticSample, dir webrtc.RTPTransceiverDirection, queue int, onPLI func()) (*egress, error) {
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: dir})
	if err != nil {
		return nil, err
	}
	e := newEgress(track, queue)
	go readRTCP(tr.Sender(), onPLI, e)
	return e, nil
}

// readRTCP reads a sender's RTCP so the interceptors (NACK responder,
// reports, congestion control) see it, reports keyframe requests (PLI,
// FIR) to onPLI, and keeps the receiver's count of lost packets (RFC 3550
// receiver reports) on e.
func readRTCP(s *webrtc.RTPSender, onPLI func(), e *egress) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if onPLI != nil {
					onPLI()
				}
			case *rtcp.ReceiverReport:
				e.report(p.Reports, s)
			case *rtcp.SenderReport:
				// A participant that also sends reports its reception here.
				e.report(p.Reports, s)
			}
		}
	}
}

func (r *Room) peerState(id ParticipantID, pc *webrtc.PeerConnection, s webrtc.PeerConnectionState) {
	p := r.parts[id]
	if p == nil || p.pc.Load() != pc {
		return
	}
	switch s {
	case webrtc.PeerConnectionStateConnected:
		if !p.setup {
			p.setup = true
			if o := r.viewerOutput(p); o != nil {
				// Whatever was sent before the connection was up never
				// left: the viewer starts on a fresh keyframe.
				p.vready = false
				o.requestKeyframe(keyframeNewViewer)
			}
			r.log.Info("media connected", "participant", id)
			r.publish(Event{Kind: EventMediaUp, Participant: id, Info: p.info()})
			r.publish(Event{Kind: EventUpdated, Participant: id, Info: p.info()})
		}
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		reason := "closed"
		if s == webrtc.PeerConnectionStateFailed {
			reason = "ice-failed"
		}
		p.setup = false
		r.log.Info("media ended", "participant", id, "reason", reason)
		r.publish(Event{Kind: EventHangup, Participant: id, Info: p.info(), Reason: reason})
	}
}

// answer applies an offer and returns the complete answer once ICE
// gathering (instant on the muxed port) has finished.
func answer(ctx context.Context, pc *webrtc.PeerConnection, offer string) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidSDP, err)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrAnswer, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", fmt.Errorf("set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return pc.LocalDescription().SDP, nil
}

// Leave removes a participant and closes its media.
func (r *Room) Leave(ctx context.Context, id ParticipantID) error {
	return r.remove(ctx, id, "left")
}

// Kick removes a participant on the room's behalf.
func (r *Room) Kick(ctx context.Context, id ParticipantID) error {
	return r.remove(ctx, id, "kicked")
}

// Hangup closes a participant's media but keeps it in the room; it can
// send a new offer.
func (r *Room) Hangup(ctx context.Context, id ParticipantID) error {
	var pc *webrtc.PeerConnection
	err := r.withParticipant(ctx, id, func(p *Participant) error {
		pc = r.detachMedia(p)
		return nil
	})
	if pc != nil {
		_ = pc.Close()
	}
	return err
}

func (r *Room) remove(ctx context.Context, id ParticipantID, reason string) error {
	// Not cancellable: a participant taken off the room must have its
	// connection closed and its cost returned, so this waits to know. (Only
	// a room ending meanwhile returns early, its goroutine done: removed is
	// then safe to read.)
	var pc *webrtc.PeerConnection
	removed := false
	err := r.withParticipant(context.WithoutCancel(ctx), id, func(p *Participant) error {
		pc = r.detachMedia(p)
		r.dropParticipant(p, reason)
		removed = true
		return nil
	})
	if !removed {
		return err
	}
	r.addCost(-1)
	if pc != nil {
		_ = pc.Close()
	}
	r.log.Info("participant left", "participant", id, "reason", reason)
	return nil
}

// dropParticipant takes a participant (its media already detached) off
// the room and tells everyone (room goroutine).
func (r *Room) dropParticipant(p *Participant, reason string) {
	delete(r.parts, p.id)
	for i, q := range r.order {
		if q == p {
			r.order = append(r.order[:i], r.order[i+1:]...)
			break
		}
	}
	r.membersChanged()
	r.publish(Event{Kind: EventLeft, Participant: p.id, Info: p.info(), Reason: reason})
}

// tierCount is the number of tiers of the composite (1 for an audio-only
// room).
func (r *Room) tierCount() int {
	if r.video == nil {
		return 1
	}
	return len(r.video.cfg.Tiers)
}

// viewerOutput is the output a viewer is on (nil if none).
func (r *Room) viewerOutput(p *Participant) *videoOutput {
	if r.video == nil || p.vout == nil {
		return nil
	}
	return r.video.outputs[p.vkey]
}

// detachMedia drops a participant's media state (room goroutine) and
// returns the PeerConnection for the caller to close outside the tick.
func (r *Room) detachMedia(p *Participant) *webrtc.PeerConnection {
	pc := p.pc.Swap(nil)
	p.cands = remoteCandidates{}
	if p.out != nil {
		p.out.close()
		p.out = nil
	}
	if p.in != nil {
		p.in.close()
		p.in = nil
	}
	if p.vout != nil {
		r.removeViewer(p)
		p.vout.close()
		p.vout = nil
	}
	if p.vin != nil {
		// Closing waits for a decode in flight: not on the tick.
		go p.vin.close()
		p.vin = nil
	}
	r.forgetSource(p)
	return pc
}

// forgetSource takes a participant whose media left out of the mix and
// the layout (room goroutine).
func (r *Room) forgetSource(p *Participant) {
	r.audio.Remove(mixer.SourceID(p.id))
	if r.video != nil {
		// Off screen at once: the next talker need not wait out the hold.
		r.video.hold.Forget(mixer.SourceID(p.id))
	}
	p.setup, p.talking = false, false
}

// RoomStats is a snapshot of a room's counters.
type RoomStats struct {
	ID              RoomID            `json:"id"`
	Participants    int               `json:"participants"`
	Talkers         int               `json:"talkers"`
	Ticks           uint64            `json:"ticks"`
	SkippedTicks    uint64            `json:"skipped_ticks"`
	AudioEncoders   int64             `json:"audio_encoders"`
	MaxEncoders     int64             `json:"max_audio_encoders"`
	EncodersCreated uint64            `json:"audio_encoders_created"`
	EncodeErrors    uint64            `json:"encode_errors"`
	MixErrors       uint64            `json:"mix_errors"`
	VideoErrors     uint64            `json:"video_errors"`
	Inputs          []InputStats      `json:"inputs"`
	VideoTicks      int64             `json:"video_ticks"`
	VideoSkipped    uint64            `json:"video_skipped_ticks"`
	VideoOutputs    []OutputStats     `json:"video_outputs"`
	VideoInputs     []VideoInputStats `json:"video_inputs"`
}

// InputStats describes one participant's audio path.
type InputStats struct {
	Participant  ParticipantID `json:"participant"`
	Packets      uint64        `json:"packets"`
	QueueDropped uint64        `json:"queue_dropped"`
	Late         uint64        `json:"late"`
	Lost         uint64        `json:"lost"`
	// FEC counts lost packets rebuilt from the next packet's in-band FEC
	// (where that packet carries none, libopus conceals instead).
	FEC       uint64 `json:"fec_used"`
	Concealed uint64 `json:"concealed"`
	// Stretched counts slots concealed on purpose to deepen the buffer
	// (to wait for this participant's late pictures).
	Stretched    uint64 `json:"stretched"`
	DecodeErrors uint64 `json:"decode_errors"`
	// LevelMismatches counts the frames whose RFC 6464 level claimed far
	// more than their audio held; LevelDistrusted, the times the input's
	// claims were set aside for it (the input's level is then measured).
	LevelMismatches uint64 `json:"level_mismatches"`
	LevelDistrusted uint64 `json:"level_distrusted"`
	Buffered        int    `json:"buffered"`
	Sent            uint64 `json:"sent"`
	SendDropped     uint64 `json:"send_dropped"`
	BitrateBps      int    `json:"estimated_bitrate_bps"`
}

// Stats returns the room's counters, as of now.
func (r *Room) Stats(ctx context.Context) (RoomStats, error) {
	var s RoomStats
	err := r.exec(ctx, func() { s = r.collectStats() })
	return s, err
}

// collectStats gathers the room's counters (room goroutine).
func (r *Room) collectStats() RoomStats {
	s := RoomStats{
		ID: r.id, Participants: len(r.parts), Ticks: r.stats.ticks.Load(), SkippedTicks: r.stats.skippedTicks.Load(),
		AudioEncoders: r.stats.encoders.Load(), MaxEncoders: r.stats.maxEncoders.Load(),
		EncodersCreated: r.stats.encodersCreated.Load(), EncodeErrors: r.stats.encodeErrors.Load(),
		MixErrors: r.stats.mixErrors.Load(), VideoErrors: r.stats.videoErrors.Load(),
	}
	for _, p := range r.order {
		if p.talking {
			s.Talkers++
		}
		is := InputStats{Participant: p.id}
		if in := p.in; in != nil {
			is.Packets, is.QueueDropped = in.packets.Load(), in.dropped.Load()
			is.Late, is.Lost, is.FEC, is.Concealed = in.jb.stats.late, in.jb.stats.lost, in.jb.stats.fec, in.jb.stats.concealed
			is.Stretched = in.jb.stats.stretched
			is.DecodeErrors, is.Buffered = in.decodeErrs, in.jb.buffered()
			is.LevelMismatches, is.LevelDistrusted = in.claims.mismatches, in.claims.offences
		}
		if out := p.out; out != nil {
			is.Sent, is.SendDropped = out.sent.Load(), out.dropped.Load()
		}
		if p.est != nil {
			is.BitrateBps = p.est.GetTargetBitrate()
		}
		s.Inputs = append(s.Inputs, is)
	}
	r.videoStats(&s)
	return s
}

// destroy ends the room: every participant is dropped and its media
// closed. The manager has already taken the room off its worker.
func (r *Room) destroy() { r.destroyWith("") }

// ReasonFailed is the Reason of the EventDestroyed of a room that a bug
// (a recovered panic) ended.
const ReasonFailed = "internal error"

// destroyFailed ends a room whose tick panicked. Its state may be half
// updated: if cleaning it up panics too, its subscribers are still told
// and let go.
func (r *Room) destroyFailed(err error) {
	defer func() {
		if v := recover(); v != nil {
			recovered(v, &panics.tick, r.log, "cleaning up a failed room panicked")
			r.publish(Event{Kind: EventDestroyed, Reason: ReasonFailed})
			r.events.closeAll()
		}
	}()
	r.log.Error("room ended by an internal error", "err", err)
	r.destroyWith(ReasonFailed)
}

// destroyWith is destroy; reason (empty for a destroy that was asked for)
// goes with the EventDestroyed.
func (r *Room) destroyWith(reason string) {
	if !r.closed.CompareAndSwap(false, true) {
		return
	}
	close(r.done)
	var pcs []*webrtc.PeerConnection
	for _, p := range r.order {
		if pc := r.detachMedia(p); pc != nil {
			pcs = append(pcs, pc)
		}
		r.publish(Event{Kind: EventLeft, Participant: p.id, Info: p.info(), Reason: "destroyed"})
	}
	r.parts, r.order = map[ParticipantID]*Participant{}, nil
	r.members.Store(0)
	for _, enc := range r.encoders {
		enc.Close()
	}
	for _, enc := range r.spare {
		enc.Close()
	}
	r.encoders, r.spare = nil, nil
	if rec := r.detachRecorder("room destroyed"); rec != nil {
		<-rec.done
	}
	if r.video != nil {
		r.video.close()
	}
	r.publish(Event{Kind: EventDestroyed, Reason: reason})
	r.events.closeAll()
	for _, pc := range pcs {
		if err := pc.Close(); err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
			r.log.Debug("closing peer connection", "err", err)
		}
	}
	r.log.Info("room destroyed")
}

// slowLinkLost is how many packets a second a participant's media must
// lose for a slowlink event; slowLinkQuiet is the least time between two
// of one kind (media and direction).
const (
	slowLinkLost  = 4
	slowLinkQuiet = 5 * time.Second
)

// checkLinks publishes slowlink events, once a second: packets lost on the
// way in (the jitter buffer's and frame assembler's counts) and on the way
// out (the participant's receiver reports).
func (r *Room) checkLinks(now time.Time) {
	for _, p := range r.order {
		var inAudio, inVideo uint64
		if p.in != nil {
			inAudio = p.in.jb.stats.lost
		}
		if p.vin != nil {
			inVideo = p.vin.lost.Load()
		}
		// A counter that went back belongs to a new input: no loss yet.
		counts := [4]int{
			int(max(int64(inAudio-p.loss.seen[0]), 0)), int(max(int64(inVideo-p.loss.seen[1]), 0)),
			egressLost(p.out), egressLost(p.vout),
		}
		p.loss.seen[0], p.loss.seen[1] = inAudio, inVideo
		for i, lost := range counts {
			if lost < slowLinkLost || now.Sub(p.loss.last[i]) < slowLinkQuiet {
				continue
			}
			p.loss.last[i] = now
			media := [4]string{"audio", "video", "audio", "video"}[i]
			r.publish(Event{Kind: EventSlowLink, Participant: p.id, Info: p.info(), Media: media, Uplink: i < 2, Lost: lost})
		}
	}
}

// report keeps the receiver's loss count for this egress's stream from a
// compound packet's report blocks (blocks about other streams are left).
func (e *egress) report(blocks []rtcp.ReceptionReport, s *webrtc.RTPSender) {
	ssrc := e.ssrc.Load()
	if ssrc == 0 {
		if enc := s.GetParameters().Encodings; len(enc) > 0 {
			ssrc = uint32(enc[0].SSRC)
			e.ssrc.Store(ssrc)
		}
	}
	for _, b := range blocks {
		if b.SSRC == ssrc {
			e.reportedLost.Store(b.TotalLost)
		}
	}
}

// egressLost is how many more packets the listener reported lost since the
// last look, beyond those left out on purpose (room goroutine). Reports
// trail the skips they count, so only a rise above the most seen so far is
// loss.
func egressLost(e *egress) int {
	if e == nil {
		return 0
	}
	excess := int64(e.reportedLost.Load()) - int64(e.withheld.Load())
	if excess <= e.excess {
		return 0
	}
	n := excess - e.excess
	e.excess = excess
	return int(n)
}
