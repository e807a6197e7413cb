package app

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"
)

// servePprof serves Go's profiler on a loopback address of its own (config debug.pprof_listen)
// and returns a function that stops it.
func servePprof(addr string, log *slog.Logger) func() {
	// Contention profiles cost a little on every lock and channel operation, so they are on
	// only while the profiler is served.
	runtime.SetMutexProfileFraction(100)
	runtime.SetBlockProfileRate(int(10 * time.Microsecond))
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux}
	go func() {
		if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			log.Error("pprof listener", "addr", addr, "err", err)
		}
	}()
	log.Warn("serving the Go profiler: turn debug.pprof_listen off when done", "addr", "http://"+addr+"/debug/pprof/")
	return func() {
		srv.Close()
		runtime.SetMutexProfileFraction(0)
		runtime.SetBlockProfileRate(0)
	}
}
