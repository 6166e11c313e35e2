// Command tessera runs the Tessera MCU: it reads the configuration, starts
// the HTTP server with the browser client and the signalling APIs, and
// drains gracefully on SIGINT or SIGTERM.
//
// Usage:
//
//	tessera [-config tessera.yaml] [-listen :8088] [-log-format json] ...
//
// Every flag is also a TESSERA_* environment variable and a YAML key; run
// tessera -h for the list.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tessera-mcu/tessera/room"
	"github.com/tessera-mcu/tessera/room/rtc"
	"github.com/tessera-mcu/tessera/signaling"
	"github.com/tessera-mcu/tessera/signaling/janus"
	"github.com/tessera-mcu/tessera/signaling/lockout"
	"github.com/tessera-mcu/tessera/signaling/metrics"
	"github.com/tessera-mcu/tessera/web"
)

// version is set at link time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "tessera:", err)
		if errors.Is(err, errConfig) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run starts the server and blocks until ctx ends, then drains. ready, if
// not nil, receives the bound HTTP address once the server listens.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stderr io.Writer, ready chan<- string) error {
	cfg, err := loadConfig(args, lookupEnv, stderr)
	if err != nil {
		return err
	}
	// The level is shared with the Janus admin API's set_log_level.
	level := new(slog.LevelVar)
	log := newLogger(cfg, stderr, level)
	slog.SetDefault(log)

	inputs, err := cfg.inputLimits()
	if err != nil {
		return err
	}
	// With -cluster-redis, the cluster's store; the node leaves the
	// cluster last, after its rooms have closed.
	cn, err := cfg.Cluster.openCluster(ctx, cfg.Listen, log)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	defer cn.close()
	// The event dispatcher outlives the gateway and the rooms (closed
	// last), so that their last events are delivered.
	evs, err := cfg.Events.newEvents(log)
	if err != nil {
		return err
	}
	defer evs.Close()
	// The WebRTC engine outlives the rooms (closed after them: deferred
	// first), whose connections it made.
	webrtc, err := rtc.NewEngine(rtc.EngineConfig{
		BindIP: cfg.MediaBind, UDPPort: cfg.MediaPort, DisableTCP: !cfg.ICETCP,
		PublicIPs: cfg.publicIPs(), ExcludeLoopback: !cfg.ICELoopback, SocketBuffer: cfg.MediaSocketBuffer, Pacing: cfg.MediaPacing, Unbatched: cfg.MediaUnbatched, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	defer func() {
		if err := webrtc.Close(); err != nil {
			log.Warn("closing the media port", "err", err)
		}
	}()
	rooms, err := room.NewManager(room.ManagerConfig{
		Workers:        cfg.Workers,
		DisablePinning: !cfg.PinWorkers,
		MaxTalkers:     cfg.MaxTalkers,
		Inputs:         inputs,
		Limits:         cfg.Limits.room(),
		Lifecycle:      roomEvents(evs),
		Logger:         log,
	})
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	defer func() {
		if err := rooms.Close(context.Background()); err != nil {
			log.Warn("closing rooms", "err", err)
		}
	}()
	// In a cluster the node joins now: the plugins reach rooms through
	// the cluster, and it leaves after the gateway has closed.
	if err := cn.start(ctx, rooms); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	defer cn.stopRelay()
	pluginRooms := cn.rooms(rooms)
	if cfg.DemoRoom {
		// In a cluster the first node to start creates it; it is stored.
		if _, err := pluginRooms.Create(demoRoom); err != nil && (cn == nil || !errors.Is(err, room.ErrRoomExists)) {
			return fmt.Errorf("demo room: %w", err)
		}
	}

	// One count of wrong secrets, PINs and admin keys per client address.
	guesses := lockout.New(lockout.Options{Logger: log})
	// Metrics, when they have a listener: Janus requests are observed as
	// they are answered, everything else is read when scraped.
	var meter *metrics.Metrics
	var observer janus.RequestObserver
	if cfg.MetricsListen != "" {
		mo := metrics.Options{Rooms: rooms, Media: webrtc, Version: version, Lockout: guesses, Logger: log}
		if evs != nil {
			mo.Events = evs
		}
		mo.Cluster = cn.metrics()
		meter = metrics.New(mo)
		observer = meter
	}
	gw := janus.NewGateway(janus.Options{
		SessionTimeout: cfg.SessionTimeout, Version: version, Logger: log,
		MaxBody: cfg.MaxBody, WSMaxMessage: cfg.WSMaxMessage, WSSessionWait: cfg.WSSessionWait,
		MaxSessions: cfg.MaxSessions, MaxHandles: cfg.MaxHandles, SessionsPerMinute: cfg.SessionRate,
		MaxPolls: cfg.MaxPolls, WSRate: cfg.WSRate, WSOrigins: cfg.origins(),
		Events:    gatewayEvents(evs),
		Observer:  observer,
		APISecret: cfg.APISecret, TokenAuth: cfg.TokenAuth, Tokens: cfg.janusTokens(),
		AdminSecret: cfg.JanusAdminSecret, LogLevel: level,
	})
	defer gw.Close()
	recording := room.RecordOptions{Dir: cfg.RecordDir, Template: cfg.RecordTemplate, VideoCodec: cfg.RecordCodec,
		MinFree: cfg.RecordMinFreeMB << 20}
	ab, mcu := roomPlugins(cfg, pluginRooms, webrtc, recording, guesses, log)
	gw.Register(cn.wrap(ab))
	gw.Register(cn.wrap(mcu))

	// Ready while not draining, every worker ticking and the media port
	// open.
	var draining atomic.Bool
	readiness := func() error {
		if draining.Load() {
			return errDraining
		}
		if err := rooms.Stalled(); err != nil {
			return err
		}
		return webrtc.Check()
	}
	admin := &signaling.Admin{Rooms: rooms, Key: cfg.AdminKey, Recording: recording, Lockout: guesses}
	routes := signaling.ServerOptions{Version: version, Web: web.Handler(), Logger: log, Janus: gw, Ready: readiness, Admin: admin}
	wh, viewerTokens := cfg.WHIP.newWHIP(rooms, webrtc, guesses, admin, &routes)
	if wh != nil {
		// Its sessions end as run returns, before the rooms close.
		defer wh.Close()
	}
	// Live outputs: RTMP pushes through the plugins and the admin API,
	// HLS while someone watches.
	pushes := cfg.Streams.pushes(log)
	ab.SetStreamer(pushes)
	mcu.SetStreamer(pushes)
	admin.Streamer = pushes
	hlsHandler, err := cfg.Streams.newHLS(rooms, hlsAuthorizer(rooms, cfg.AdminKey, viewerTokens, guesses), log)
	if err != nil {
		return fmt.Errorf("hls: %w", err)
	}
	if hlsHandler != nil {
		routes.HLS = hlsHandler
		// Its streams end before the rooms close.
		defer hlsHandler.Close()
	}
	// SIP phones join rooms; their calls end (BYE) before the rooms close.
	sipSrv, err := cfg.SIP.newSIP(rooms, cfg.publicIPs(), cfg.MediaBind, guesses, cn.sipLocator(), log)
	if err != nil {
		return fmt.Errorf("sip: %w", err)
	}
	if sipSrv != nil {
		defer sipSrv.Close()
		// Rooms call phones through it: the plugins' dial request and
		// POST /admin/rooms/{room}/calls.
		ab.SetDialer(sipSrv)
		mcu.SetDialer(sipSrv)
		admin.Dialer = sipSrv
		if meter != nil {
			meter.SetSIP(sipSrv)
		}
	}
	if meter != nil {
		meter.SetGateway(gw)
	}
	ls, err := listen(cfg, signaling.NewRouter(routes), gw, meter, webrtc.Port(), log)
	if err != nil {
		return err
	}
	defer ls.close()
	bound := ls.bound
	// Everything listens: the node joins the cluster, where rooms may be
	// placed on it from now on.
	if err := cn.announce(ctx, cfg.clusterInfo(bound[0], webrtc.Port(), sipSrv), rooms); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if ready != nil {
		ready <- bound[0]
	}

	select {
	case err := <-ls.failed:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	return shutdown(cfg, cn, rooms, gw, ls.servers, &draining, log)
}

// roomPlugins makes the AudioBridge and video MCU plugins on rooms.
func roomPlugins(cfg Config, rooms janus.Rooms, webrtc *rtc.Engine, recording room.RecordOptions,
	guesses *lockout.Limiter, log *slog.Logger) (ab, mcu *janus.RoomPlugin) {
	ab = janus.NewAudioBridge(rooms, webrtc, log)
	mcu = janus.NewVideoMCU(rooms, webrtc, log, ab)
	for _, p := range []*janus.RoomPlugin{ab, mcu} {
		p.SetRecording(recording)
		p.SetAdminKey(cfg.RoomAdminKey)
		p.SetLockout(guesses)
	}
	return ab, mcu
}

// shutdown drains the server once it is told to stop: not ready (and, in
// a cluster, taking no new rooms) for the drain delay, the rooms hosted
// here emptied in a cluster, then every Janus session ended and the
// listeners shut within the shutdown timeout.
func shutdown(cfg Config, cn *clusterNode, rooms *room.Manager, gw *janus.Gateway, servers []*http.Server,
	draining *atomic.Bool, log *slog.Logger) error {
	// The cluster places no new rooms here from now on.
	cn.drain(context.Background())
	draining.Store(true)
	if cfg.DrainDelay > 0 {
		// /readyz already fails: load balancers stop sending new clients
		// while the ones here carry on.
		log.Info("draining: not ready", "delay", cfg.DrainDelay)
		time.Sleep(cfg.DrainDelay)
	}
	// In a cluster the rooms here empty first, within the timeout.
	wctx, wcancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	cn.waitEmpty(wctx, rooms)
	wcancel()
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Every Janus session ends first (and completely, before the rooms
	// close): clients get hangup and detached for their handles, their
	// WebSockets close with 1001, and open long polls return at once
	// instead of holding the drain for their 30 s.
	gw.Close()
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("drain: %w", err)
		}
	}
	log.Info("stopped")
	return nil
}

// demoRoom is room 1234, the room Janus's demo pages and janode's examples
// expect, with their management secret.
var demoRoom = room.Config{ID: 1234, Description: "Demo Room", Secret: "adminpwd", AudioLevelEvents: true, HLS: true}

// janusAdminMux serves the Janus admin API at /admin, as Janus's admin
// HTTP transport does.
func janusAdminMux(gw *janus.Gateway) http.Handler {
	mux := http.NewServeMux()
	admin := gw.AdminHandler("/admin")
	mux.Handle("/admin", admin)
	mux.Handle("/admin/", admin)
	return mux
}

// newLogger makes the server logger at the configured level, set into
// level (which the Janus admin API may change later).
func newLogger(cfg Config, w io.Writer, level *slog.LevelVar) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel)))
	level.Set(l)
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
