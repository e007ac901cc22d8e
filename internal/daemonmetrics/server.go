package daemonmetrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fdfsgo/fdfs/internal/prebind"
)

// ReadyFunc reports why the daemon does not serve yet; nil means ready.
type ReadyFunc func() error

// Server is the metrics_listen HTTP listener.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// readHeaderTimeout bounds a slow scraper (or slowloris) holding a
// connection before its request is whole.
const readHeaderTimeout = 10 * time.Second

// NewRegistry returns a registry with the Go runtime and process
// collectors and cs.
func NewRegistry(cs ...prometheus.Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(cs...)
	return reg
}

// Listen binds addr and serves, in the background:
//
//	GET /metrics  Prometheus text format of g
//	GET /healthz  200 "ok" while the process runs (liveness)
//	GET /readyz   200 "ready", or 503 with ready's reason (readiness)
func Listen(addr string, g prometheus.Gatherer, ready ReadyFunc, log *slog.Logger) (*Server, error) {
	ln, err := prebind.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("metrics_listen %s: %w", addr, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn), ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	s := &Server{ln: ln, done: make(chan struct{}), srv: &http.Server{
		Handler: mux, ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics listener stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr returns the bound address ("127.0.0.1:9101").
func (s *Server) Addr() string { return s.ln.Addr().String() }

// closeGrace bounds how long a scrape in progress may take to finish
// when the daemon stops.
const closeGrace = 2 * time.Second

// Close stops the listener, lets scrapes in progress finish for up to
// closeGrace, and waits for the serving goroutine.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	<-s.done
	return err
}
