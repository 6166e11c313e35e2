package signaling

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// ServerOptions configures the HTTP router.
type ServerOptions struct {
	// Version is reported by /healthz.
	Version string
	// Web serves the browser client at "/". Nil serves nothing there.
	Web http.Handler
	// Logger receives one line per failed request. Nil uses slog.Default.
	Logger *slog.Logger
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
		writeJSON(w, http.StatusOK, map[string]any{
			"status":         "ok",
			"version":        opts.Version,
			"uptime_seconds": time.Since(started).Seconds(),
		})
	})
	if opts.Web != nil {
		r.Handle("/*", opts.Web)
	}
	return r
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
