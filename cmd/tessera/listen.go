package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/tessera-mcu/tessera/signaling/janus"
	"github.com/tessera-mcu/tessera/signaling/metrics"
)

// listeners are the server's HTTP listeners, serving: the main one (REST,
// Janus over HTTP, WHIP/WHEP, HLS, the web page), then, each when
// configured, the Janus WebSocket, the Janus admin API and the metrics.
type listeners struct {
	servers []*http.Server
	lns     []net.Listener
	// bound are the listeners' addresses in that order.
	bound []string
	// failed receives the error of a server that stopped serving.
	failed chan error
}

// listen opens and serves every configured listener; on an error those
// already open are closed.
func listen(cfg Config, main http.Handler, gw *janus.Gateway, meter *metrics.Metrics, mediaPort int, log *slog.Logger) (*listeners, error) {
	handlers := []http.Handler{main}
	addrs := []string{cfg.Listen}
	if cfg.WSListen != "" {
		handlers = append(handlers, gw.WSHandler())
		addrs = append(addrs, cfg.WSListen)
	}
	wsEnd := len(addrs)
	if cfg.JanusAdminListen != "" {
		handlers = append(handlers, janusAdminMux(gw))
		addrs = append(addrs, cfg.JanusAdminListen)
	}
	metricsAt := len(addrs)
	if meter != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", meter.Handler(cfg.MetricsKey))
		if cfg.Pprof {
			mux.Handle("/debug/pprof/", meter.Guard(cfg.MetricsKey, profiler()))
		}
		handlers = append(handlers, mux)
		addrs = append(addrs, cfg.MetricsListen)
	}
	ls := &listeners{failed: make(chan error, len(handlers))}
	for i, h := range handlers {
		ln, err := net.Listen("tcp", addrs[i])
		if err != nil {
			ls.close()
			return nil, fmt.Errorf("listen %s: %w", addrs[i], err)
		}
		srv := newHTTPServer(cfg, h, log)
		ls.servers = append(ls.servers, srv)
		ls.lns = append(ls.lns, ln)
		ls.bound = append(ls.bound, ln.Addr().String())
		go func() { ls.failed <- srv.Serve(ln) }()
	}
	log.Info("tessera listening", "http", ls.bound[0], "janus_ws", ls.bound[1:wsEnd], "janus_admin", ls.bound[wsEnd:metricsAt],
		"media_port", mediaPort, "version", version)
	if meter != nil {
		log.Info("metrics listening", "addr", ls.bound[metricsAt], "key", cfg.MetricsKey != "")
	}
	return ls, nil
}

// close closes the listeners (the servers are shut down by shutdown).
func (ls *listeners) close() {
	for _, ln := range ls.lns {
		_ = ln.Close()
	}
}

// newHTTPServer serves h with the configured timeouts. The read timeout
// bounds receiving a request, body included: net/http lifts it once the
// body is read, and the WebSocket upgrade clears it, so long polls and
// sockets outlive it. No write timeout: a long poll answers after up to
// 30 s.
func newHTTPServer(cfg Config, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       cfg.IdleTimeout,
	}
}
