package hls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tessera-mcu/tessera/internal/loglimit"
)

// Defaults of the handler's options.
const (
	DefaultPrefix       = "/hls"
	DefaultIdleTimeout  = 30 * time.Second
	DefaultStartTimeout = 10 * time.Second
)

// PlaylistName is the media playlist's name under a room's path.
const PlaylistName = "index.m3u8"

// Option configures a Handler.
type Option func(*Handler) error

// WithPrefix sets the path the handler serves under (default "/hls"):
// GET {prefix}/{room}/index.m3u8.
func WithPrefix(prefix string) Option {
	return func(h *Handler) error {
		if !strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/") {
			return fmt.Errorf("%w: prefix %q must start and not end with /", ErrInvalidConfig, prefix)
		}
		h.prefix = prefix
		return nil
	}
}

// WithAuthorize sets the access check run on every request before
// anything else. An error wrapping ErrUnauthorized is answered 401, any
// other error 403; its text is the body. Without it every room is open.
func WithAuthorize(auth func(r *http.Request, room string) error) Option {
	return func(h *Handler) error {
		h.authorize = auth
		return nil
	}
}

// WithIdleTimeout sets how long a room's stream runs after its last
// request (default 30 s).
func WithIdleTimeout(d time.Duration) Option {
	return func(h *Handler) error {
		if d < 100*time.Millisecond {
			return fmt.Errorf("%w: idle timeout %v below 100ms", ErrInvalidConfig, d)
		}
		h.sessions.idle = d
		return nil
	}
}

// WithStartTimeout sets how long the first playlist request of a room
// waits for the stream's first segment before it is answered 503
// (default 10 s).
func WithStartTimeout(d time.Duration) Option {
	return func(h *Handler) error {
		if d <= 0 {
			return fmt.Errorf("%w: start timeout %v", ErrInvalidConfig, d)
		}
		h.startTimeout = d
		return nil
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(h *Handler) error {
		h.log = l
		return nil
	}
}

// Handler serves the rooms' HLS streams over HTTP: the playlist, init
// section, segments and parts of {prefix}/{room}/, with CORS for players
// on other origins. It starts a room's stream through its Source on the
// first playlist request and stops it when the room has been idle for the
// idle timeout. Close stops every stream.
type Handler struct {
	prefix       string
	authorize    func(r *http.Request, room string) error
	startTimeout time.Duration
	log          *slog.Logger
	sessions     sessions

	logMu sync.Mutex
	warn  loglimit.Limiter

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// NewHandler makes a Handler serving the streams src starts.
func NewHandler(src Source, opts ...Option) (*Handler, error) {
	if src == nil {
		return nil, fmt.Errorf("%w: nil Source", ErrInvalidConfig)
	}
	h := &Handler{
		prefix:       DefaultPrefix,
		startTimeout: DefaultStartTimeout,
		log:          slog.Default(),
		sessions:     sessions{src: src, idle: DefaultIdleTimeout, now: time.Now, rooms: map[string]*session{}},
		stop:         make(chan struct{}),
		done:         make(chan struct{}),
	}
	for _, o := range opts {
		if err := o(h); err != nil {
			return nil, err
		}
	}
	go h.reapLoop()
	return h, nil
}

// reapLoop stops idle streams until Close.
func (h *Handler) reapLoop() {
	defer close(h.done)
	t := time.NewTicker(min(time.Second, h.sessions.idle/4))
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.sessions.reap()
		}
	}
}

// Close stops every running stream and the idle reaper. Requests that
// arrive after it find no stream.
func (h *Handler) Close() error {
	h.once.Do(func() {
		close(h.stop)
		<-h.done
		h.sessions.stopAll()
	})
	return nil
}

// Running lists the rooms whose stream runs.
func (h *Handler) Running() []string {
	rooms := h.sessions.running()
	slices.Sort(rooms)
	return rooms
}

// HandlerStats counts the handler's stream starts and stops.
type HandlerStats struct {
	Starts, Stops uint64
}

// Stats returns the handler's counters.
func (h *Handler) Stats() HandlerStats {
	return HandlerStats{Starts: h.sessions.starts.Load(), Stops: h.sessions.stops.Load()}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Origin", "*")
	hdr.Set("Access-Control-Expose-Headers", "Content-Length, Content-Type")
	switch r.Method {
	case http.MethodOptions:
		hdr.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		hdr.Set("Access-Control-Allow-Headers", "Authorization")
		hdr.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodGet, http.MethodHead:
	default:
		hdr.Set("Allow", "GET, HEAD, OPTIONS")
		httpError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	room, name, ok := h.splitPath(r.URL.Path)
	if !ok {
		httpError(w, http.StatusNotFound, "not found: HLS streams are at "+h.prefix+"/{room}/"+PlaylistName)
		return
	}
	if h.authorize != nil {
		if err := h.authorize(r, room); err != nil {
			if errors.Is(err, ErrUnauthorized) {
				hdr.Set("WWW-Authenticate", `Bearer realm="hls"`)
				httpError(w, http.StatusUnauthorized, err.Error())
				return
			}
			httpError(w, http.StatusForbidden, err.Error())
			return
		}
	}
	if name == PlaylistName {
		h.servePlaylist(w, r, room)
		return
	}
	s, err := h.sessions.get(r.Context(), room, false)
	if err != nil {
		httpError(w, http.StatusNotFound, fmt.Sprintf("no HLS stream of room %s is running: load %s first", room, PlaylistName))
		return
	}
	defer func() { s.release(time.Now()) }()
	res, err := s.mux.Resource(r.Context(), name)
	if err != nil {
		httpError(w, http.StatusNotFound, fmt.Sprintf("room %s has no %s (it may have left the window)", room, name))
		return
	}
	hdr.Set("Content-Type", MediaType)
	hdr.Set("Cache-Control", "public, max-age=3600, immutable")
	hdr.Set("Content-Length", strconv.Itoa(res.Size))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	for _, c := range res.Chunks {
		if _, err := w.Write(c); err != nil {
			return
		}
	}
}

// servePlaylist answers a playlist request, starting the room's stream
// when none runs and waiting (bounded) for its first segment.
func (h *Handler) servePlaylist(w http.ResponseWriter, r *http.Request, room string) {
	q := r.URL.Query()
	msn, err := ParseDirective(q.Get("_HLS_msn"))
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	partIdx, err := ParseDirective(q.Get("_HLS_part"))
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	if partIdx >= 0 && msn < 0 {
		httpError(w, http.StatusBadRequest, "_HLS_part needs _HLS_msn")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.startTimeout)
	defer cancel()
	s, err := h.sessions.get(ctx, room, true)
	switch {
	case errors.Is(err, ErrNoStream):
		httpError(w, http.StatusNotFound, fmt.Sprintf("room %s has no HLS stream: %v", room, err))
		return
	case err != nil:
		h.warnf("hls: stream did not start", "room", room, "error", err)
		hdr := w.Header()
		hdr.Set("Retry-After", "2")
		httpError(w, http.StatusServiceUnavailable, fmt.Sprintf("the HLS stream of room %s could not start: %v", room, err))
		return
	}
	defer func() { s.release(time.Now()) }()
	if err := s.mux.WaitReady(ctx); err != nil {
		w.Header().Set("Retry-After", "2")
		httpError(w, http.StatusServiceUnavailable, fmt.Sprintf("the HLS stream of room %s has no segment yet: %v", room, err))
		return
	}
	body, err := s.mux.Playlist(r.Context(), PlaylistRequest{MSN: msn, Part: partIdx, Query: carriedQuery(q)})
	switch {
	case errors.Is(err, ErrFutureSegment):
		httpError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		httpError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", PlaylistType)
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// splitPath cuts {prefix}/{room}/{name}.
func (h *Handler) splitPath(p string) (room, name string, ok bool) {
	rest, ok := strings.CutPrefix(p, h.prefix+"/")
	if !ok {
		return "", "", false
	}
	room, name, ok = strings.Cut(rest, "/")
	if !ok || room == "" || name == "" || strings.Contains(name, "/") {
		return "", "", false
	}
	return room, name, true
}

// carriedQuery is the playlist request's query without the blocking
// reload directives, to be carried to every URI in the playlist.
func carriedQuery(q url.Values) string {
	out := url.Values{}
	for k, v := range q {
		if !strings.HasPrefix(k, "_HLS_") {
			out[k] = v
		}
	}
	return out.Encode()
}

func (h *Handler) warnf(msg string, args ...any) {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	h.warn.Warn(h.log, msg, args...)
}

// httpError answers with a plain-text body that says what went wrong.
func httpError(w http.ResponseWriter, code int, msg string) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = fmt.Fprintln(w, msg)
}
