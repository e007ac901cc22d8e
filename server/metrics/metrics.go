package metrics

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// Unmatched is the method label of calls of gRPC methods the server does
// not have and of HTTP requests no route takes (they are answered
// UNIMPLEMENTED or NOT_FOUND): without it, every scanned path would make
// a series of its own.
const Unmatched = "unmatched"

// Protocol label values.
const (
	GRPC = "grpc"
	HTTP = "http"
)

// Metrics is the gateway's metric set, on its own registry.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
	inFlight *prometheus.GaugeVec

	// grpcMethods is the set of registered full method names
	// (map[string]bool, replaced whole by SetGRPCMethods).
	grpcMethods atomic.Value
}

// New returns a Metrics with every collector registered.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "fdfs", Subsystem: "gateway", Name: "requests_total",
			Help: "Requests handled, by protocol, method (gRPC method, or HTTP method and route) and gRPC code name (both protocols).",
		}, []string{"protocol", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "fdfs", Subsystem: "gateway", Name: "request_duration_seconds",
			Help: "Time from request start to the end of the response, by protocol and method.",
			// From 1 ms (a cached lookup) to ~2 min (a multi-GiB transfer).
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}, []string{"protocol", "method"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "fdfs", Subsystem: "gateway", Name: "bytes_total",
			Help: "Payload bytes received (in) and sent (out), by protocol and method.",
		}, []string{"protocol", "method", "direction"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "fdfs", Subsystem: "gateway", Name: "requests_in_flight",
			Help: "Requests being handled, by protocol.",
		}, []string{"protocol"}),
	}
	m.grpcMethods.Store(map[string]bool{})
	m.reg.MustRegister(m.requests, m.duration, m.bytes, m.inFlight,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry the metrics live in, for extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// SetGRPCMethods declares the methods registered on a gRPC server; only
// those get their own label.
func (m *Metrics) SetGRPCMethods(s *grpc.Server) {
	set := make(map[string]bool)
	for svc, info := range s.GetServiceInfo() {
		for _, meth := range info.Methods {
			set["/"+svc+"/"+meth.Name] = true
		}
	}
	m.grpcMethods.Store(set)
}

// StartHTTP marks the start of an HTTP request; call the returned function
// when it is done with its HTTP method, route (a path pattern, or "" when
// none matched), result code and the body bytes received and sent. The
// method label is "<HTTP method> <route>", e.g. "GET /v1/files/{file_id=**}",
// so that each route and method has its series.
func (m *Metrics) StartHTTP() func(method, route string, code codes.Code, in, out int64) {
	start := time.Now()
	g := m.inFlight.WithLabelValues(HTTP)
	g.Inc()
	return func(method, route string, code codes.Code, in, out int64) {
		g.Dec()
		label := Unmatched
		if route != "" {
			label = method + " " + route
		}
		m.observe(HTTP, label, code.String(), time.Since(start), in, out)
	}
}

// CodeOfHTTP is the gRPC code of an HTTP status the gateway answered
// without a google.rpc.Status of its own (successes, 304, 412, 416,
// transfers, refusals of net/http): the inverse of grpc-gateway's
// mapping, so that both protocols count results in one vocabulary. 0
// marks a transfer broken after its headers (ABORTED).
func CodeOfHTTP(s int) codes.Code {
	switch {
	case s == 0:
		return codes.Aborted
	case s < 400:
		return codes.OK
	}
	switch s {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return codes.Unimplemented
	case http.StatusConflict:
		return codes.Aborted
	case http.StatusPreconditionFailed:
		return codes.FailedPrecondition
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusRequestedRangeNotSatisfiable:
		return codes.OutOfRange
	case 499:
		return codes.Canceled
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout, http.StatusRequestTimeout:
		return codes.DeadlineExceeded
	}
	if s < 500 {
		return codes.InvalidArgument
	}
	return codes.Internal
}

func (m *Metrics) observe(proto, method, code string, d time.Duration, in, out int64) {
	m.requests.WithLabelValues(proto, method, code).Inc()
	m.duration.WithLabelValues(proto, method).Observe(d.Seconds())
	if in > 0 {
		m.bytes.WithLabelValues(proto, method, "in").Add(float64(in))
	}
	if out > 0 {
		m.bytes.WithLabelValues(proto, method, "out").Add(float64(out))
	}
}

// StatsHandler returns the gRPC stats.Handler recording every RPC of the
// server it is installed on (grpc.StatsHandler).
func (m *Metrics) StatsHandler() stats.Handler { return &grpcStats{m: m} }

type grpcStats struct{ m *Metrics }

// rpcState accumulates one RPC's figures; the stats callbacks of one RPC
// may run on different goroutines (a stream's reads and writes).
type rpcState struct {
	method  string
	start   time.Time
	in, out atomic.Int64
}

type rpcKey struct{}

func (h *grpcStats) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	method := info.FullMethodName
	if !h.m.grpcMethods.Load().(map[string]bool)[method] {
		method = Unmatched
	}
	return context.WithValue(ctx, rpcKey{}, &rpcState{method: method, start: time.Now()})
}

func (h *grpcStats) HandleRPC(ctx context.Context, s stats.RPCStats) {
	st, ok := ctx.Value(rpcKey{}).(*rpcState)
	if !ok {
		return
	}
	switch s := s.(type) {
	case *stats.Begin:
		h.m.inFlight.WithLabelValues(GRPC).Inc()
	case *stats.InPayload:
		st.in.Add(int64(s.Length))
	case *stats.OutPayload:
		st.out.Add(int64(s.Length))
	case *stats.End:
		h.m.inFlight.WithLabelValues(GRPC).Dec()
		code := status.Code(s.Error).String()
		h.m.observe(GRPC, st.method, code, s.EndTime.Sub(st.start), st.in.Load(), st.out.Load())
	}
}

func (h *grpcStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (h *grpcStats) HandleConn(context.Context, stats.ConnStats) {}
