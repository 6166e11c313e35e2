package main

import (
	"net/http"
	"net/http/pprof"
)

// profiler serves Go's runtime profiles (CPU, heap, goroutines, mutex
// and block) under /debug/pprof/, for `go tool pprof` against a running
// server. It is only mounted with -pprof, on the metrics listener.
func profiler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
