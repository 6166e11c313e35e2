package signaling

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/tessera-mcu/tessera/signaling/internal/httpjson"
	"github.com/tessera-mcu/tessera/signaling/janus"
	"github.com/tessera-mcu/tessera/signaling/lockout"
	"github.com/tessera-mcu/tessera/signaling/whip"
)

// ServerOptions configures the HTTP router.
type ServerOptions struct {
	// Version is reported by /healthz.
	Version string
	// Web serves the browser client at "/". Nil serves nothing there.
	Web http.Handler
	// Logger receives one line per failed request. Nil uses slog.Default.
	Logger *slog.Logger
	// Janus serves the Janus API: REST and long-poll under /janus,
	// WebSocket (subprotocol janus-protocol) on /janus and on /.
	Janus *janus.Gateway
	// Admin serves the operators' API under /admin (nil: none).
	Admin *Admin
	// Ready tells /readyz whether the server takes new work: nil when
	// it does, else why not (draining, a stalled worker, the media port
	// gone). Nil Ready: always ready.
	Ready func() error
	// WHIP serves the WHIP and WHEP endpoints under /whip and /whep (nil:
	// none).
	WHIP *whip.Server
	// HLS serves rooms' HLS playlists and media under /hls (nil: none).
	HLS http.Handler
}

// NewRouter builds the HTTP handler tree.
func NewRouter(opts ServerOptions) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	started := time.Now()
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		httpjson.Write(w, http.StatusOK, map[string]any{
			"status":         "ok",
			"version":        opts.Version,
			"uptime_seconds": time.Since(started).Seconds(),
		})
	})
	// Readiness, for load balancers and orchestrators: 503 while the
	// server should get no new clients. /healthz stays liveness.
	r.Get("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if opts.Ready != nil {
			if err := opts.Ready(); err != nil {
				httpjson.Write(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "reason": err.Error()})
				return
			}
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"status": "ready"})
	})
	if opts.Admin != nil {
		if opts.Admin.Lockout == nil {
			opts.Admin.Lockout = lockout.New(lockout.Options{Logger: log.With("api", "admin")})
		}
		r.Route("/admin", opts.Admin.routes)
	}
	if opts.WHIP != nil {
		opts.WHIP.Mount(r)
	}
	if opts.HLS != nil {
		r.Handle("/hls/*", opts.HLS)
	}
	web := opts.Web
	if opts.Janus != nil {
		rest := opts.Janus.HTTPHandler("/janus")
		ws := opts.Janus.WSHandler()
		api := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if janus.IsWebSocket(req) {
				ws.ServeHTTP(w, req)
				return
			}
			rest.ServeHTTP(w, req)
		})
		r.Handle("/janus", api)
		r.Handle("/janus/*", api)
		page := web
		web = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Path == "/" && janus.IsWebSocket(req) {
				ws.ServeHTTP(w, req)
				return
			}
			if page == nil {
				http.NotFound(w, req)
				return
			}
			page.ServeHTTP(w, req)
		})
	}
	if web != nil {
		r.Handle("/*", web)
	}
	return r
}
