package janus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pion/sdp/v3"

	"github.com/tessera-mcu/tessera/mixer"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/rtc"
	"github.com/tessera-mcu/tessera/signaling/lockout"
)

// AudioBridge plugin error codes (Janus's janus_audiobridge.c).
const (
	abNoMessage       = 480
	abInvalidJSON     = 481
	abInvalidRequest  = 482
	abMissingElement  = 483
	abInvalidElement  = 484
	abNoSuchRoom      = 485
	abRoomExists      = 486
	abNotJoined       = 487
	abUnauthorized    = 489
	abIDExists        = 490
	abAlreadyJoined   = 491
	abNoSuchUser      = 492
	abInvalidSDP      = 493
	abUnknownError    = 499
	audioBridgePkg    = "janus.plugin.audiobridge"
	videoMCUPkg       = "janus.plugin.mcu"
	requestTimeout    = 15 * time.Second
	abSubscriptionLen = 512
)

// Rooms is what the plugins need of the room manager.
type Rooms interface {
	Create(cfg room.Config) (*room.Room, error)
	Get(id room.RoomID) (*room.Room, error)
	Destroy(ctx context.Context, id room.RoomID) error
	// Summaries describes every room, by ID, without waiting for any.
	Summaries() []room.Summary
}

// RoomPlugin puts Tessera's rooms behind a Janus plugin API. As
// janus.plugin.audiobridge (NewAudioBridge) its request and event shapes,
// error codes and semantics follow Janus's AudioBridge, so clients written
// for it work unchanged. As janus.plugin.mcu (NewVideoMCU) it has the same
// shapes under the key "mcu", and offers with video get the composite
// picture, plus layout and codec controls. Both share the rooms: audio-only
// AudioBridge participants and video participants in the same room number
// hear each other, and the audio-only ones appear as placeholders.
type RoomPlugin struct {
	rooms Rooms
	// webrtc answers participants' SDP offers: their connections go to
	// the rooms.
	webrtc *rtc.Engine
	log    *slog.Logger
	pkg    string
	key    string // "audiobridge" or "mcu": the plugin data's first key
	video  bool

	// private is shared by both plugins of a process (is_private rooms).
	private *privateRooms
	// guesses limits wrong secrets and PINs per client address.
	guesses *lockout.Limiter
	// recording holds the defaults for recordings started through the
	// plugin (folder, file name template, codec).
	recording room.RecordOptions
}

// SetRecording sets the folder, file name template and codec of
// recordings started through the plugin.
func (ab *RoomPlugin) SetRecording(o room.RecordOptions) { ab.recording = o }

// SetLockout sets the limiter of wrong secrets and PINs, e.g. one shared
// with the admin API. Call it before the plugin serves.
func (ab *RoomPlugin) SetLockout(l *lockout.Limiter) { ab.guesses = l }

type privateRooms struct {
	mu  sync.Mutex
	set map[room.RoomID]bool
}

func (p *privateRooms) get(id room.RoomID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.set[id]
}

func (p *privateRooms) put(id room.RoomID, private bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if private {
		p.set[id] = true
	} else {
		delete(p.set, id)
	}
}

// NewAudioBridge creates janus.plugin.audiobridge.
func NewAudioBridge(rooms Rooms, webrtc *rtc.Engine, log *slog.Logger) *RoomPlugin {
	return newRoomPlugin(rooms, webrtc, log, audioBridgePkg, "audiobridge", false, nil)
}

// NewVideoMCU creates janus.plugin.mcu, sharing the private-room list and
// the guess limiter of the AudioBridge plugin on the same rooms (nil: its
// own).
func NewVideoMCU(rooms Rooms, webrtc *rtc.Engine, log *slog.Logger, audioBridge *RoomPlugin) *RoomPlugin {
	mcu := newRoomPlugin(rooms, webrtc, log, videoMCUPkg, "mcu", true, nil)
	if audioBridge != nil {
		mcu.private, mcu.guesses = audioBridge.private, audioBridge.guesses
	}
	return mcu
}

func newRoomPlugin(rooms Rooms, webrtc *rtc.Engine, log *slog.Logger, pkg, key string, video bool, private *privateRooms) *RoomPlugin {
	if log == nil {
		log = slog.Default()
	}
	if private == nil {
		private = &privateRooms{set: make(map[room.RoomID]bool)}
	}
	return &RoomPlugin{rooms: rooms, webrtc: webrtc, log: log.With("plugin", pkg), pkg: pkg, key: key, video: video, private: private,
		guesses: lockout.New(lockout.Options{Logger: log.With("plugin", pkg)})}
}

// Package implements Plugin.
func (ab *RoomPlugin) Package() string { return ab.pkg }

// Info implements Plugin.
func (ab *RoomPlugin) Info() PluginInfo {
	if ab.video {
		return PluginInfo{Name: "Tessera video MCU plugin", Author: "The Tessera authors",
			Description:   "One composed picture and a mix without your own voice for every participant.",
			VersionString: "0.1.0", Version: 1}
	}
	return PluginInfo{Name: "JANUS AudioBridge plugin", Author: "The Tessera authors",
		Description:   "Tessera's audio MCU behind the AudioBridge API: per-listener mix-minus of the loudest talkers.",
		VersionString: "0.1.0", Version: 12}
}

// Attach implements Plugin.
func (ab *RoomPlugin) Attach(h HandleContext) (PluginSession, error) {
	return &abSession{ab: ab, h: h}, nil
}

// abSession is one handle's AudioBridge state. Its requests run one at a
// time on the handle's goroutine; the event forwarder reads room and pid
// under mu.
type abSession struct {
	ab *RoomPlugin
	h  HandleContext

	mu   sync.Mutex
	room *room.Room
	pid  room.ParticipantID
	sub  *room.Subscription
	mids map[string]string // the offer's mid of each medium
	// media: an offer made the participant a PeerConnection that has not
	// ended since; its end is told to the client once (hangup).
	media bool
}

// pluginError is an AudioBridge error reply.
type pluginError struct {
	code int
	msg  string
}

func perr(code int, format string, args ...any) *pluginError {
	return &pluginError{code, fmt.Sprintf(format, args...)}
}

func (e *pluginError) data(key string) M {
	return M{key: "event", "error_code": e.code, "error": e.msg}
}

// body is a decoded request body with typed accessors that produce
// AudioBridge's 483/484 errors.
type body map[string]json.RawMessage

func (b body) has(k string) bool {
	v, ok := b[k]
	return ok && string(v) != "null"
}

func (b body) str(k string, required bool) (string, *pluginError) {
	if !b.has(k) {
		if required {
			return "", perr(abMissingElement, "Missing element (%s)", k)
		}
		return "", nil
	}
	var s string
	if json.Unmarshal(b[k], &s) != nil {
		return "", perr(abInvalidElement, "Invalid element (%s should be a string)", k)
	}
	return s, nil
}

func (b body) uint(k string, required bool) (uint64, *pluginError) {
	if !b.has(k) {
		if required {
			return 0, perr(abMissingElement, "Missing element (%s)", k)
		}
		return 0, nil
	}
	var n uint64
	if json.Unmarshal(b[k], &n) != nil {
		return 0, perr(abInvalidElement, "Invalid element (%s should be a positive integer)", k)
	}
	return n, nil
}

func (b body) boolean(k string) (*bool, *pluginError) {
	if !b.has(k) {
		return nil, nil
	}
	var v bool
	if json.Unmarshal(b[k], &v) != nil {
		return nil, perr(abInvalidElement, "Invalid element (%s should be a boolean)", k)
	}
	return &v, nil
}

// fields reads several optional fields, keeping the first error: read
// everything, then check err once.
type fields struct {
	b   body
	err *pluginError
}

func (f *fields) str(k string) string {
	if f.err != nil {
		return ""
	}
	v, e := f.b.str(k, false)
	f.err = e
	return v
}

func (f *fields) uint(k string) uint64 {
	if f.err != nil {
		return 0
	}
	v, e := f.b.uint(k, false)
	f.err = e
	return v
}

func (f *fields) boolean(k string) *bool {
	if f.err != nil {
		return nil
	}
	v, e := f.b.boolean(k)
	f.err = e
	return v
}

func parseBody(raw json.RawMessage) (body, string, *pluginError) {
	var b body
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, "", perr(abInvalidJSON, "JSON error: %v", err)
	}
	req, e := b.str("request", true)
	if e != nil {
		return nil, "", e
	}
	return b, strings.ToLower(req), nil
}

// Async implements PluginSession: join, configure, changeroom, leave and
// hangup are asynchronous, as in Janus.
func (s *abSession) Async(raw json.RawMessage) bool {
	_, req, e := parseBody(raw)
	if e != nil {
		return false
	}
	switch req {
	case "join", "configure", "changeroom", "leave", "hangup":
		return true
	}
	return false
}

// Handle implements PluginSession.
func (s *abSession) Handle(ctx context.Context, raw json.RawMessage, jsep *JSEP) (any, *JSEP) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	b, req, e := parseBody(raw)
	if e != nil {
		return e.data(s.ab.key), nil
	}
	var (
		data   M
		answer *JSEP
	)
	switch req {
	case "join":
		data, answer, e = s.join(ctx, b, jsep, false)
	case "configure":
		data, answer, e = s.configure(ctx, b, jsep)
	case "changeroom":
		data, answer, e = s.join(ctx, b, jsep, true)
	case "leave":
		data, e = s.leave(ctx)
	case "hangup":
		s.Hangup(ctx)
		data = M{s.ab.key: "hangingup"}
	case "create":
		data, e = s.ab.create(b)
	case "edit":
		data, e = s.ab.edit(ctx, b)
	case "destroy":
		data, e = s.ab.destroy(ctx, b)
	case "list":
		data = s.ab.list()
	case "exists":
		data, e = s.ab.exists(b)
	case "listparticipants":
		data, e = s.ab.listParticipants(ctx, b)
	case "kick":
		data, e = s.ab.kick(ctx, b)
	case "kick_all":
		data, e = s.ab.kickAll(ctx, b)
	case "mute", "unmute":
		data, e = s.ab.mute(ctx, b, req == "mute")
	case "mute_room", "unmute_room":
		data, e = s.ab.muteRoom(ctx, b, req == "mute_room")
	case "layout":
		if !s.ab.video {
			e = perr(abInvalidRequest, "Unknown request '%s'", req)
			break
		}
		data, e = s.layout(ctx, b)
	case "tiles":
		if !s.ab.video {
			e = perr(abInvalidRequest, "Unknown request '%s'", req)
			break
		}
		data, e = s.ab.tiles(ctx, b)
	case "record":
		if !s.ab.video {
			e = perr(abInvalidRequest, "Unknown request '%s'", req)
			break
		}
		data, e = s.record(ctx, b)
	case "enable_recording":
		data, e = s.ab.enableRecording(ctx, b)
	case "resetdecoder":
		// Decoders reset themselves on stream restarts; nothing to do.
		if _, e = s.joined(); e == nil {
			data = M{s.ab.key: "success"}
		}
	default:
		e = perr(abInvalidRequest, "Unknown request '%s'", req)
	}
	if e != nil {
		// At debug level: the client is told; a flood of wrong secrets is
		// summed up by the guess limiter's own log.
		s.ab.log.Debug("request refused", "request", req, "code", e.code, "error", e.msg, "session", s.h.SessionID(), "handle", s.h.ID())
		return e.data(s.ab.key), nil
	}
	return data, answer
}

func (s *abSession) joined() (*room.Room, *pluginError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.room == nil {
		return nil, perr(abNotJoined, "Not in a room")
	}
	return s.room, nil
}

// participant renders a participant the way AudioBridge does.
func participant(p room.ParticipantInfo, talkingEvents bool) M {
	m := M{"id": p.ID, "setup": p.Setup, "muted": p.Muted}
	if p.Display != "" {
		m["display"] = p.Display
	}
	if talkingEvents {
		m["talking"] = p.Talking
	}
	return m
}

func (ab *RoomPlugin) room(b body) (*room.Room, room.RoomID, *pluginError) {
	id, e := b.uint("room", true)
	if e != nil {
		return nil, 0, e
	}
	r, err := ab.rooms.Get(room.RoomID(id))
	if err != nil {
		return nil, room.RoomID(id), perr(abNoSuchRoom, "No such room (%d)", id)
	}
	return r, room.RoomID(id), nil
}

// managedRoom finds the room of a management request and checks its
// secret.
func (ab *RoomPlugin) managedRoom(ctx context.Context, b body) (*room.Room, room.RoomID, *pluginError) {
	r, id, e := ab.room(b)
	if e != nil {
		return nil, id, e
	}
	if e := ab.authorized(ctx, r, b); e != nil {
		return nil, id, e
	}
	return r, id, nil
}

// authorized checks a management request's secret.
func (ab *RoomPlugin) authorized(ctx context.Context, r *room.Room, b body) *pluginError {
	secret, e := b.str("secret", false)
	if e != nil {
		return e
	}
	return ab.guarded(ctx, "secret", r.Config().Secret != "", func() bool { return r.CheckSecret(secret) })
}

// guarded runs a secret or PIN check (what) the room requires through
// the guess limiter: a client that failed too often lately is refused
// with the wrong secret's code, its guess not compared at all.
func (ab *RoomPlugin) guarded(ctx context.Context, what string, required bool, check func() bool) *pluginError {
	if !required {
		return nil
	}
	client := ClientAddr(ctx)
	if !ab.guesses.Allow(client) {
		return perr(abUnauthorized, "Unauthorized (too many failed attempts; try again later)")
	}
	if !check() {
		ab.guesses.Fail(client)
		return perr(abUnauthorized, "Unauthorized (wrong %s)", what)
	}
	return nil
}

func roomErr(err error) *pluginError {
	switch {
	case errors.Is(err, room.ErrUnauthorized):
		return perr(abUnauthorized, "Unauthorized (wrong pin)")
	case errors.Is(err, room.ErrParticipantExists):
		return perr(abIDExists, "User ID already exists")
	case errors.Is(err, room.ErrParticipantNotFound):
		return perr(abNoSuchUser, "No such user")
	case errors.Is(err, room.ErrRoomNotFound), errors.Is(err, room.ErrClosed):
		return perr(abNoSuchRoom, "No such room")
	case errors.Is(err, room.ErrRoomFull):
		return perr(abUnauthorized, "Room is full")
	case errors.Is(err, room.ErrInvalidSDP), errors.Is(err, room.ErrNoMedia), errors.Is(err, room.ErrAnswer):
		return perr(abInvalidSDP, "Error processing SDP: %v", err)
	case errors.Is(err, room.ErrInvalidValue), errors.Is(err, room.ErrCannotMove):
		return perr(abInvalidElement, "%v", err)
	case errors.Is(err, room.ErrNoVideo):
		return perr(abInvalidRequest, "%v", err)
	}
	return perr(abUnknownError, "%v", err)
}

// join handles join and changeroom. A changeroom takes the participant's
// media session along (the PeerConnection stays up); a refused one leaves
// it where it was. An offer sent with either is answered as configure
// would.
func (s *abSession) join(ctx context.Context, b body, jsep *JSEP, change bool) (M, *JSEP, *pluginError) {
	r, id, e := s.ab.room(b)
	if e != nil {
		return nil, nil, e
	}
	s.mu.Lock()
	old, oldPid, oldSub := s.room, s.pid, s.sub
	s.mu.Unlock()
	if old != nil && !change {
		return nil, nil, perr(abAlreadyJoined, "Already in a room (use changeroom)")
	}
	if old == nil && change {
		return nil, nil, perr(abNotJoined, "Not in a room (use join)")
	}
	if change && old == r {
		return nil, nil, perr(abAlreadyJoined, "Already in room %d", id)
	}
	f := fields{b: b}
	pid, display, pin, muted, vol, tier := f.uint("id"), f.str("display"), f.str("pin"), f.boolean("muted"), f.uint("volume"), f.uint("tier")
	if f.err != nil {
		return nil, nil, f.err
	}
	if e := s.ab.guarded(ctx, "pin", r.Config().Pin != "", func() bool { return r.CheckPin(pin) }); e != nil {
		return nil, nil, e
	}
	req := room.JoinRequest{ID: room.ParticipantID(pid), Display: display, Pin: pin}
	if b.has("volume") {
		v := float32(vol) / 100
		req.Volume = &v
	}
	if s.ab.video {
		vc, e := b.str("video_codec", false)
		if e != nil {
			return nil, nil, e
		}
		if vc = strings.ToLower(vc); vc != "" && vc != room.CodecVP8 && vc != room.CodecH264 {
			return nil, nil, perr(abInvalidElement, "Invalid element (video_codec should be vp8 or h264)")
		}
		req.VideoCodec, req.VideoTier = vc, int(tier)
	}
	if muted != nil {
		req.Muted = *muted
	}
	if jsep != nil {
		// A bad offer fails the request before anything moves.
		if _, err := rtc.CheckOffer(jsep.SDP, r.HasVideo()); err != nil {
			return nil, nil, roomErr(err)
		}
	}
	sub := r.Subscribe(abSubscriptionLen)
	var (
		me     room.ParticipantInfo
		others []room.ParticipantInfo
		err    error
	)
	if change {
		me, others, err = old.Move(ctx, oldPid, r, req)
	} else {
		me, others, err = r.Join(ctx, req)
	}
	if err != nil {
		sub.Close()
		return nil, nil, roomErr(err)
	}
	s.mu.Lock()
	s.room, s.pid, s.sub = r, me.ID, sub
	s.mu.Unlock()
	if oldSub != nil {
		oldSub.Close() // ends the old room's forwarder
	}
	go s.forward(r, me.ID, sub)
	var (
		answer   *JSEP
		offerErr *pluginError
	)
	if jsep != nil {
		if answer, offerErr = s.offer(ctx, r, me.ID, jsep); offerErr != nil && !change {
			_, _ = s.leave(context.WithoutCancel(ctx)) // a join whose offer fails does not happen
			return nil, nil, offerErr
		}
	}
	list := participantList(others, 0, r.Config().AudioLevelEvents)
	kind := "joined"
	if change {
		kind = "roomchanged"
	}
	_, recording, _ := r.Recording(ctx)
	reply := M{s.ab.key: kind, "room": id, "id": me.ID, "participants": list, "recording": recording}
	if offerErr != nil {
		// The move happened (the offer passed the check, then failed to
		// apply): the client is in the new room, and is told why its offer
		// was not answered.
		reply["error_code"], reply["error"] = offerErr.code, offerErr.msg
	}
	if s.ab.video {
		if v := r.Config().Video; !v.Disabled {
			layout, pinned, _ := r.Layout(ctx)
			reply["video"] = M{"width": v.Width, "height": v.Height, "fps": v.FPS, "layout": layout.String(), "pinned": pinned,
				"tiers": len(v.Tiers)}
		}
	}
	return reply, answer, nil
}

// offer applies a client's offer to its participant and returns the
// answer.
func (s *abSession) offer(ctx context.Context, r *room.Room, pid room.ParticipantID, jsep *JSEP) (*JSEP, *pluginError) {
	sdpAnswer, err := s.ab.webrtc.Offer(ctx, r.Member(pid), jsep.SDP)
	if err != nil {
		return nil, roomErr(err)
	}
	s.mu.Lock()
	s.mids = offerMids(jsep.SDP)
	s.media = true
	s.mu.Unlock()
	return &JSEP{Type: "answer", SDP: sdpAnswer}, nil
}

// roomFor resolves the room a control request is about: the handle's own
// room, or {room, secret} for anyone else.
func (s *abSession) roomFor(ctx context.Context, b body) (*room.Room, *pluginError) {
	r, e := s.joined()
	if b.has("room") {
		other, id, e2 := s.ab.room(b)
		if e2 != nil {
			return nil, e2
		}
		if r == nil || r.ID() != id {
			if e := s.ab.authorized(ctx, other, b); e != nil {
				return nil, e
			}
		}
		return other, nil
	}
	if e != nil {
		return nil, perr(abNotJoined, "Not in a room (give room and secret)")
	}
	return r, nil
}

// record starts or stops the room's recording: {action: "start"|"stop",
// room?, secret?, video_codec?, filename?}.
func (s *abSession) record(ctx context.Context, b body) (M, *pluginError) {
	r, e := s.roomFor(ctx, b)
	if e != nil {
		return nil, e
	}
	// Recording a meeting is the room owner's call: the secret is needed
	// even from inside the room (when the room has one).
	if e := s.ab.authorized(ctx, r, b); e != nil {
		return nil, e
	}
	action, e := b.str("action", true)
	if e != nil {
		return nil, e
	}
	switch action {
	case "start":
		o := s.ab.recording
		if v, e := b.str("video_codec", false); e != nil {
			return nil, e
		} else if v != "" {
			o.VideoCodec = strings.ToLower(v)
		}
		if name, e := b.str("filename", false); e != nil {
			return nil, e
		} else if name != "" {
			o.Name = name
		}
		info, err := r.StartRecording(ctx, o)
		if err != nil {
			return nil, recordErr(err)
		}
		return M{s.ab.key: "success", "room": r.ID(), "recording": true, "file": filepath.Base(info.Path)}, nil
	case "stop":
		info, err := r.StopRecording(ctx)
		if err != nil {
			return nil, recordErr(err)
		}
		return M{s.ab.key: "success", "room": r.ID(), "recording": false, "file": filepath.Base(info.Path)}, nil
	}
	return nil, perr(abInvalidElement, "Invalid element (action should be start or stop)")
}

func recordErr(err error) *pluginError {
	switch {
	case errors.Is(err, room.ErrAlreadyRecording):
		return perr(abInvalidRequest, "Already recording (the room's recording is running)")
	case errors.Is(err, room.ErrNotRecording):
		return perr(abInvalidRequest, "Not recording (the room's recording is not running)")
	case errors.Is(err, room.ErrInvalidValue):
		return perr(abInvalidElement, "%v", err)
	case errors.Is(err, room.ErrRecording):
		return perr(abUnknownError, "Recording failed: %v", err)
	}
	return roomErr(err)
}

// enableRecording is AudioBridge's enable_recording: {room, record,
// filename?, secret?} (it needs the room's secret when the room has one).
func (ab *RoomPlugin) enableRecording(ctx context.Context, b body) (M, *pluginError) {
	r, id, e := ab.managedRoom(ctx, b)
	if e != nil {
		return nil, e
	}
	on, e := b.boolean("record")
	if e != nil {
		return nil, e
	}
	if on == nil {
		return nil, perr(abMissingElement, "Missing element (record)")
	}
	if *on {
		o := ab.recording
		if name, e := b.str("filename", false); e != nil {
			return nil, e
		} else if name != "" {
			o.Name = strings.TrimSuffix(name, filepath.Ext(name))
		}
		if _, err := r.StartRecording(ctx, o); err != nil && !errors.Is(err, room.ErrAlreadyRecording) {
			return nil, recordErr(err)
		}
	} else if _, err := r.StopRecording(ctx); err != nil && !errors.Is(err, room.ErrNotRecording) {
		return nil, recordErr(err)
	}
	return M{ab.key: "success", "room": id, "record": *on}, nil
}

// layout changes the room's layout: {room?, layout, pin?, secret?}. A
// participant may change its own room's layout; anyone else needs the
// room's secret.
func (s *abSession) layout(ctx context.Context, b body) (M, *pluginError) {
	r, e := s.roomFor(ctx, b)
	if e != nil {
		return nil, e
	}
	name, e := b.str("layout", true)
	if e != nil {
		return nil, e
	}
	kind, err := mixer.ParseLayout(name)
	if err != nil {
		return nil, perr(abInvalidElement, "Invalid element (layout should be grid, speaker or presentation)")
	}
	pin, e := b.uint("pin", false)
	if e != nil {
		return nil, e
	}
	if kind == mixer.LayoutPresentation && pin == 0 {
		return nil, perr(abMissingElement, "Missing element (pin): presentation needs the participant to show")
	}
	if err := r.SetLayout(ctx, kind, room.ParticipantID(pin)); err != nil {
		if errors.Is(err, room.ErrNoVideo) {
			return nil, perr(abInvalidRequest, "Room %d has no video", r.ID())
		}
		return nil, roomErr(err)
	}
	return M{s.ab.key: "success", "room": r.ID(), "layout": kind.String(), "pinned": pin}, nil
}

func (s *abSession) configure(ctx context.Context, b body, jsep *JSEP) (M, *JSEP, *pluginError) {
	r, e := s.joined()
	if e != nil {
		return nil, nil, perr(abNotJoined, "Can't configure (not in a room)")
	}
	s.mu.Lock()
	pid := s.pid
	s.mu.Unlock()
	var u room.Update
	if u.Muted, e = b.boolean("muted"); e != nil {
		return nil, nil, e
	}
	if b.has("display") {
		d, e := b.str("display", false)
		if e != nil {
			return nil, nil, e
		}
		u.Display = &d
	}
	if b.has("volume") {
		v, e := b.uint("volume", false)
		if e != nil {
			return nil, nil, e
		}
		f := float32(v) / 100
		u.Volume = &f
	}
	if s.ab.video && b.has("tier") {
		t, e := b.uint("tier", false)
		if e != nil {
			return nil, nil, e
		}
		ti := int(t)
		u.VideoTier = &ti
	}
	if u.Muted != nil || u.Display != nil || u.Volume != nil || u.VideoTier != nil {
		if _, err := r.Update(ctx, pid, u); err != nil {
			return nil, nil, roomErr(err)
		}
	}
	var answer *JSEP
	if jsep != nil {
		if answer, e = s.offer(ctx, r, pid, jsep); e != nil {
			return nil, nil, e
		}
	}
	return M{s.ab.key: "event", "result": "ok"}, answer, nil
}

// offerMids maps each medium of an offer to its m-line's mid.
func offerMids(offer string) map[string]string {
	mids := map[string]string{}
	var sd sdp.SessionDescription
	if sd.UnmarshalString(offer) == nil {
		for i, m := range sd.MediaDescriptions {
			kind := m.MediaName.Media
			if _, seen := mids[kind]; seen {
				continue
			}
			mid, ok := m.Attribute("mid")
			if !ok {
				mid = fmt.Sprint(i)
			}
			mids[kind] = mid
		}
	}
	return mids
}

// mid is the mid of the handle's m-line of a medium.
func (s *abSession) mid(kind string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.mids[kind]; ok {
		return m
	}
	return "0"
}

func (s *abSession) leave(ctx context.Context) (M, *pluginError) {
	s.mu.Lock()
	r, pid, sub := s.room, s.pid, s.sub
	s.room, s.pid, s.sub, s.media = nil, 0, nil, false
	s.mu.Unlock()
	if r == nil {
		return nil, perr(abNotJoined, "Can't leave (not in a room)")
	}
	if sub != nil {
		sub.Close()
	}
	if err := r.Leave(ctx, pid); err != nil && !errors.Is(err, room.ErrParticipantNotFound) && !errors.Is(err, room.ErrClosed) {
		return nil, roomErr(err)
	}
	return M{s.ab.key: "left", "room": r.ID(), "id": pid}, nil
}

// forward turns room events into this handle's AudioBridge events.
func (s *abSession) forward(r *room.Room, self room.ParticipantID, sub *room.Subscription) {
	talking := r.Config().AudioLevelEvents
	var dropped uint64
	for e := range sub.C {
		if d := sub.Dropped(); d > dropped {
			// The client fell so far behind that events were lost: its
			// list of participants may be wrong, so it gets all of them.
			dropped = d
			s.resync(r, self, talking, d)
		}
		mine := e.Participant == self
		switch e.Kind {
		case room.EventJoined:
			if !mine {
				s.h.Event(M{s.ab.key: "joined", "room": r.ID(), "participants": []M{participant(e.Info, talking)}}, nil)
			}
		case room.EventUpdated:
			// A participant hears of its own changes only when someone
			// else made them (a moderator's mute).
			if !mine || e.ByModerator {
				s.h.Event(M{s.ab.key: "event", "room": r.ID(), "participants": []M{participant(e.Info, talking)}}, nil)
			}
		case room.EventLeft:
			switch {
			case e.Reason == "kicked":
				s.h.Event(M{s.ab.key: "event", "room": r.ID(), "kicked": e.Participant}, nil)
				if mine {
					s.dropRoom(r)
				}
			case e.Reason == "destroyed":
			case !mine:
				s.h.Event(M{s.ab.key: "event", "room": r.ID(), "leaving": e.Participant}, nil)
			}
		case room.EventTalking, room.EventStoppedTalking:
			s.h.Event(M{s.ab.key: e.Kind.String(), "room": r.ID(), "id": e.Participant}, nil)
		case room.EventRoomMuted:
			s.h.Event(M{s.ab.key: "event", "room": r.ID(), "muted": e.Muted}, nil)
		case room.EventRecording:
			ev := M{s.ab.key: "event", "room": r.ID(), "recording": e.Recording}
			if strings.HasPrefix(e.Reason, "error") {
				ev["error"] = e.Reason
			}
			s.h.Event(ev, nil)
		case room.EventLayout:
			if s.ab.video {
				s.h.Event(M{s.ab.key: "event", "room": r.ID(), "layout": e.Layout, "pinned": e.Participant}, nil)
			}
		case room.EventMediaUp:
			if mine {
				s.h.WebRTCUp()
			}
		case room.EventMedia:
			if mine {
				s.h.Media(s.mid(e.Media), e.Media, e.Receiving)
			}
		case room.EventSlowLink:
			if mine {
				s.h.SlowLink(s.mid(e.Media), e.Media, e.Uplink, e.Lost)
			}
		case room.EventTier:
			if mine && s.ab.video {
				s.h.Event(M{s.ab.key: "event", "room": r.ID(), "video": M{"tier": e.Tier, "width": e.Width, "height": e.Height}}, nil)
			}
		case room.EventHangup:
			if mine && s.endMedia() {
				s.h.HangupEvent(e.Reason)
			}
		case room.EventDestroyed:
			ev := M{s.ab.key: "destroyed", "room": r.ID()}
			if e.Reason != "" {
				ev["error"] = e.Reason // ended by the server, not destroyed on request
			}
			s.h.Event(ev, nil)
			s.dropRoom(r)
		}
	}
}

// resync sends the room's whole participant list (others than self, as
// in joined) after lost events: who joined or changed meanwhile is there.
// Janus clients only add and update from such a list; one who left while
// events were lost stays on the client's list until its next leave event
// or a listparticipants request.
func (s *abSession) resync(r *room.Room, self room.ParticipantID, talking bool, lost uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	ps, err := r.Participants(ctx)
	if err != nil {
		return
	}
	s.ab.log.Warn("room events lost for a slow client; sending the whole participant list",
		"session", s.h.SessionID(), "handle", s.h.ID(), "lost", lost)
	s.h.Event(M{s.ab.key: "event", "room": r.ID(), "participants": participantList(ps, self, talking)}, nil)
}

// participantList is the Janus list of ps, without skip (0: everyone).
func participantList(ps []room.ParticipantInfo, skip room.ParticipantID, talking bool) []M {
	list := make([]M, 0, len(ps))
	for _, p := range ps {
		if p.ID != skip || skip == 0 {
			list = append(list, participant(p, talking))
		}
	}
	return list
}

// dropRoom forgets the room if the handle is still in it.
func (s *abSession) dropRoom(r *room.Room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.room == r {
		if s.sub != nil {
			go s.sub.Close()
		}
		s.room, s.pid, s.sub, s.media = nil, 0, nil, false
	}
}

// endMedia records that the handle's PeerConnection ended and reports
// whether it had one.
func (s *abSession) endMedia() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	had := s.media
	s.media = false
	return had
}

// Trickle implements PluginSession: the request's candidates go to the
// room in one batch.
func (s *abSession) Trickle(ctx context.Context, cs []Candidate) error {
	r, e := s.joined()
	if e != nil {
		return fmt.Errorf("%w: trickle before join", ErrNotInRoom)
	}
	inits := make([]rtc.Candidate, 0, len(cs))
	for _, c := range cs {
		if !c.Completed {
			inits = append(inits, rtc.Candidate{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex})
		}
	}
	if len(inits) == 0 {
		return nil
	}
	s.mu.Lock()
	pid := s.pid
	s.mu.Unlock()
	_, err := rtc.AddCandidates(ctx, r.Member(pid), inits)
	return err
}

// Hangup implements PluginSession.
func (s *abSession) Hangup(ctx context.Context) {
	s.mu.Lock()
	r, pid := s.room, s.pid
	s.mu.Unlock()
	if r != nil {
		_ = r.Hangup(ctx, pid)
		s.endMedia()
	}
}

// Detach implements PluginSession. A handle with a PeerConnection tells
// the client it hung up before the gateway sends detached, as Janus does
// (reason "Detach").
func (s *abSession) Detach(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	had := s.endMedia()
	_, _ = s.leave(ctx)
	if had {
		s.h.HangupEvent("Detach")
	}
}

// Room management (synchronous requests).

func (ab *RoomPlugin) create(b body) (M, *pluginError) {
	id, e := b.uint("room", false)
	if e != nil {
		return nil, e
	}
	f := fields{b: b}
	desc, secret, pin := f.str("description"), f.str("secret"), f.str("pin")
	private, levels := f.boolean("is_private"), f.boolean("audiolevel_event")
	if f.err != nil {
		return nil, f.err
	}
	cfg := room.Config{ID: room.RoomID(id), Description: desc, Secret: secret, Pin: pin}
	if levels != nil {
		cfg.AudioLevelEvents = *levels
	}
	if b.has("max_talkers") {
		k, e := b.uint("max_talkers", false)
		if e != nil {
			return nil, e
		}
		cfg.Audio = mixer.AudioConfig{MaxTalkers: int(k)}
	}
	r, err := ab.rooms.Create(cfg)
	if err != nil {
		if errors.Is(err, room.ErrRoomExists) {
			return nil, perr(abRoomExists, "Room %d already exists", id)
		}
		return nil, perr(abInvalidElement, "%v", err)
	}
	if private != nil {
		ab.private.put(r.ID(), *private)
	}
	ab.log.Info("room created", "room", r.ID())
	return M{ab.key: "created", "room": r.ID(), "permanent": false}, nil
}

func (ab *RoomPlugin) edit(ctx context.Context, b body) (M, *pluginError) {
	r, id, e := ab.managedRoom(ctx, b)
	if e != nil {
		return nil, e
	}
	var fields [3]*string
	for i, k := range []string{"new_description", "new_secret", "new_pin"} {
		if b.has(k) {
			v, e := b.str(k, false)
			if e != nil {
				return nil, e
			}
			fields[i] = &v
		}
	}
	r.Edit(fields[0], fields[1], fields[2])
	if p, e := b.boolean("new_is_private"); e != nil {
		return nil, e
	} else if p != nil {
		ab.private.put(id, *p)
	}
	return M{ab.key: "edited", "room": id, "permanent": false}, nil
}

func (ab *RoomPlugin) destroy(ctx context.Context, b body) (M, *pluginError) {
	_, id, e := ab.managedRoom(ctx, b)
	if e != nil {
		return nil, e
	}
	if err := ab.rooms.Destroy(ctx, id); err != nil {
		return nil, roomErr(err)
	}
	ab.private.put(id, false)
	return M{ab.key: "destroyed", "room": id, "permanent": false}, nil
}

// list answers AudioBridge's list from the rooms' summaries: one snapshot,
// with no request to any room, so it is complete and quick however many
// rooms there are.
func (ab *RoomPlugin) list() M {
	out := []M{}
	for _, r := range ab.rooms.Summaries() {
		if ab.private.get(r.ID) {
			continue
		}
		out = append(out, M{"room": r.ID, "description": r.Description, "pin_required": r.PinRequired,
			"sampling_rate": mixer.SampleRate, "spatial_audio": false, "record": r.Recording, "muted": r.Muted,
			"num_participants": r.Participants})
	}
	return M{ab.key: "success", "list": out}
}

// tiles tells where each participant is on the composite: {room}.
func (ab *RoomPlugin) tiles(ctx context.Context, b body) (M, *pluginError) {
	r, id, e := ab.room(b)
	if e != nil {
		return nil, e
	}
	ts, err := r.Tiles(ctx)
	if err != nil {
		return nil, perr(abInvalidRequest, "Room %d has no video", id)
	}
	v := r.Config().Video
	return M{ab.key: "tiles", "room": id, "width": v.Width, "height": v.Height, "tiles": ts}, nil
}

func (ab *RoomPlugin) exists(b body) (M, *pluginError) {
	id, e := b.uint("room", true)
	if e != nil {
		return nil, e
	}
	_, err := ab.rooms.Get(room.RoomID(id))
	return M{ab.key: "success", "room": id, "exists": err == nil}, nil
}

func (ab *RoomPlugin) listParticipants(ctx context.Context, b body) (M, *pluginError) {
	r, id, e := ab.room(b)
	if e != nil {
		return nil, e
	}
	ps, err := r.Participants(ctx)
	if err != nil {
		return nil, roomErr(err)
	}
	return M{ab.key: "participants", "room": id, "participants": participantList(ps, 0, r.Config().AudioLevelEvents)}, nil
}

func (ab *RoomPlugin) kick(ctx context.Context, b body) (M, *pluginError) {
	r, id, e := ab.managedRoom(ctx, b)
	if e != nil {
		return nil, e
	}
	pid, e := b.uint("id", true)
	if e != nil {
		return nil, e
	}
	if err := r.Kick(ctx, room.ParticipantID(pid)); err != nil {
		return nil, roomErr(err)
	}
	return M{ab.key: "success", "room": id}, nil
}

func (ab *RoomPlugin) kickAll(ctx context.Context, b body) (M, *pluginError) {
	r, id, e := ab.managedRoom(ctx, b)
	if e != nil {
		return nil, e
	}
	ps, err := r.Participants(ctx)
	if err != nil {
		return nil, roomErr(err)
	}
	for _, p := range ps {
		_ = r.Kick(ctx, p.ID)
	}
	return M{ab.key: "success", "room": id}, nil
}

func (ab *RoomPlugin) mute(ctx context.Context, b body, muted bool) (M, *pluginError) {
	r, id, e := ab.managedRoom(ctx, b)
	if e != nil {
		return nil, e
	}
	pid, e := b.uint("id", true)
	if e != nil {
		return nil, e
	}
	if _, err := r.Update(ctx, room.ParticipantID(pid), room.Update{Muted: &muted, ByModerator: true}); err != nil {
		return nil, roomErr(err)
	}
	return M{ab.key: "success", "room": id}, nil
}

func (ab *RoomPlugin) muteRoom(ctx context.Context, b body, muted bool) (M, *pluginError) {
	r, id, e := ab.managedRoom(ctx, b)
	if e != nil {
		return nil, e
	}
	if err := r.SetRoomMuted(ctx, muted); err != nil {
		return nil, roomErr(err)
	}
	return M{ab.key: "success", "room": id}, nil
}
