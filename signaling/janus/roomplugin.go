package janus

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"sync"

	"github.com/tessera-mcu/tessera/internal/loglimit"
	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/rtc"
	"github.com/tessera-mcu/tessera/signaling/lockout"
)

// Rooms is what the plugins need of the room manager.
type Rooms interface {
	Create(cfg room.Config) (*room.Room, error)
	Get(id room.RoomID) (*room.Room, error)
	Destroy(ctx context.Context, id room.RoomID) error
	// Summaries describes every room, by ID, without waiting for any.
	Summaries() []room.Summary
}

// flavour is what sets the two room plugins apart: the package clients
// attach to, the key that names the plugin in every answer, how it
// describes itself, and what it supports.
type flavour struct {
	pkg  string
	key  string // the plugin data's first key
	info PluginInfo
	// video: offers with video get the composite picture. join takes
	// video_codec and tier and says what the picture is, configure takes
	// tier, the client hears of layout and tier changes, and the layout,
	// tiles and record requests are served.
	video bool
}

// serves reports whether the flavour answers a request that needs video
// (needsVideo) or not.
func (f flavour) serves(needsVideo bool) bool { return f.video || !needsVideo }

var (
	// audioBridgeFlavour is janus.plugin.audiobridge: Janus's AudioBridge
	// request and event shapes, error codes and semantics.
	audioBridgeFlavour = flavour{pkg: audioBridgePkg, key: "audiobridge",
		info: PluginInfo{Name: "JANUS AudioBridge plugin", Author: "The Tessera authors",
			Description:   "Tessera's audio MCU behind the AudioBridge API: per-listener mix-minus of the loudest talkers.",
			VersionString: "0.1.0", Version: 12}}
	// videoMCUFlavour is janus.plugin.mcu: the same shapes under the key
	// "mcu", with the composite picture and its controls.
	videoMCUFlavour = flavour{pkg: videoMCUPkg, key: "mcu", video: true,
		info: PluginInfo{Name: "Tessera video MCU plugin", Author: "The Tessera authors",
			Description:   "One composed picture and a mix without your own voice for every participant.",
			VersionString: "0.1.0", Version: 1}}
)

// RoomPlugin puts Tessera's rooms behind a Janus plugin API. As
// janus.plugin.audiobridge (NewAudioBridge) its request and event shapes,
// error codes and semantics follow Janus's AudioBridge, so clients written
// for it work unchanged. As janus.plugin.mcu (NewVideoMCU) it has the same
// shapes under the key "mcu", and offers with video get the composite
// picture, plus layout and codec controls. Both share the rooms: audio-only
// AudioBridge participants and video participants in the same room number
// hear each other, and the audio-only ones appear as placeholders.
//
// The plugin's requests are split by who asks: a handle's own participant
// (participant.go: join, configure, changeroom, leave, hangup) and
// moderators (moderation.go: one table, one path that finds the room and
// checks its secret). Room events reach the handle through its forwarder
// (roomevents.go).
type RoomPlugin struct {
	flavour
	rooms Rooms
	// webrtc answers participants' SDP offers: their connections go to
	// the rooms.
	webrtc *rtc.Engine
	log    *slog.Logger

	// private is shared by both plugins of a process (is_private rooms).
	private *privateRooms
	// guesses limits wrong secrets and PINs per client address.
	guesses *lockout.Limiter
	// recording holds the defaults for recordings started through the
	// plugin (folder, file name template, codec).
	recording room.RecordOptions
	// lostLog limits the lines about clients that lost room events.
	lostLog loglimit.Limiter
	// streamer starts live pushes (nil: none).
	streamer Streamer
	// dialer places dial-out calls (nil: none).
	dialer Dialer
	// adminKey, when set, must come with every create (as Janus's
	// admin_key of its AudioBridge and VideoRoom plugins).
	adminKey string
}

// NewAudioBridge creates janus.plugin.audiobridge.
func NewAudioBridge(rooms Rooms, webrtc *rtc.Engine, log *slog.Logger) *RoomPlugin {
	return newRoomPlugin(rooms, webrtc, log, audioBridgeFlavour)
}

// NewVideoMCU creates janus.plugin.mcu, sharing the private-room list and
// the guess limiter of the AudioBridge plugin on the same rooms (nil: its
// own).
func NewVideoMCU(rooms Rooms, webrtc *rtc.Engine, log *slog.Logger, audioBridge *RoomPlugin) *RoomPlugin {
	mcu := newRoomPlugin(rooms, webrtc, log, videoMCUFlavour)
	if audioBridge != nil {
		mcu.private, mcu.guesses = audioBridge.private, audioBridge.guesses
	}
	return mcu
}

func newRoomPlugin(rooms Rooms, webrtc *rtc.Engine, log *slog.Logger, f flavour) *RoomPlugin {
	if log == nil {
		log = slog.Default()
	}
	return &RoomPlugin{flavour: f, rooms: rooms, webrtc: webrtc, log: log.With("plugin", f.pkg),
		private: &privateRooms{set: make(map[room.RoomID]bool)},
		guesses: lockout.New(lockout.Options{Logger: log.With("plugin", f.pkg)})}
}

// SetRecording sets the folder, file name template and codec of
// recordings started through the plugin.
func (p *RoomPlugin) SetRecording(o room.RecordOptions) { p.recording = o }

// SetAdminKey restricts creating rooms to requests that carry key as
// admin_key (empty: anyone may create rooms). Call it before the plugin
// serves.
func (p *RoomPlugin) SetAdminKey(key string) { p.adminKey = key }

// SetLockout sets the limiter of wrong secrets and PINs, e.g. one shared
// with the admin API. Call it before the plugin serves.
func (p *RoomPlugin) SetLockout(l *lockout.Limiter) { p.guesses = l }

// Package implements Plugin.
func (p *RoomPlugin) Package() string { return p.pkg }

// Info implements Plugin.
func (p *RoomPlugin) Info() PluginInfo { return p.info }

// Attach implements Plugin.
func (p *RoomPlugin) Attach(h HandleContext) (PluginSession, error) {
	return &roomSession{plugin: p, h: h}, nil
}

var _ Plugin = (*RoomPlugin)(nil)

// privateRooms are the rooms created with is_private: list leaves them
// out.
type privateRooms struct {
	mu  sync.Mutex
	set map[room.RoomID]bool
}

func (pr *privateRooms) get(id room.RoomID) bool {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.set[id]
}

func (pr *privateRooms) put(id room.RoomID, private bool) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if private {
		pr.set[id] = true
	} else {
		delete(pr.set, id)
	}
}

// room finds the room a request names: {room}.
func (p *RoomPlugin) room(b fields) (*room.Room, room.RoomID, error) {
	id, err := b.uint("room", true)
	if err != nil {
		return nil, 0, err
	}
	r, err := p.rooms.Get(room.RoomID(id))
	if err != nil {
		return nil, room.RoomID(id), perr(abNoSuchRoom, "No such room (%d)", id)
	}
	return r, room.RoomID(id), nil
}

// authorized checks a request's secret against the room's.
func (p *RoomPlugin) authorized(ctx context.Context, r *room.Room, b fields) error {
	secret, err := b.str("secret", false)
	if err != nil {
		return err
	}
	return p.guarded(ctx, "secret", r.Config().Secret != "", func() bool { return r.CheckSecret(secret) })
}

// checkAdminKey refuses a create without the plugin's admin key, with
// Janus's codes and texts; wrong keys count as wrong guesses.
func (p *RoomPlugin) checkAdminKey(ctx context.Context, b fields) error {
	if p.adminKey == "" {
		return nil
	}
	key, err := b.str("admin_key", false)
	if err != nil {
		return perr(abInvalidElement, "Invalid element type (admin_key should be a string)")
	}
	if !b.has("admin_key") {
		return perr(abMissingElement, "Missing mandatory element (admin_key)")
	}
	return p.guarded(ctx, "admin_key", true, func() bool {
		return subtle.ConstantTimeCompare([]byte(key), []byte(p.adminKey)) == 1
	})
}

// guarded runs a secret or PIN check (what) the room requires through
// the guess limiter: a client that failed too often lately is refused
// with the wrong secret's code, its guess not compared at all.
func (p *RoomPlugin) guarded(ctx context.Context, what string, required bool, check func() bool) error {
	if !required {
		return nil
	}
	client := ClientAddr(ctx)
	if !p.guesses.Allow(client) {
		return perr(abUnauthorized, "Unauthorized (too many failed attempts; try again later)")
	}
	if !check() {
		p.guesses.Fail(client)
		return perr(abUnauthorized, "Unauthorized (wrong %s)", what)
	}
	return nil
}
