// Package daemonmetrics is what the tracker and storage daemons share for
// operations: the HTTP listener of metrics_listen (Prometheus /metrics,
// liveness /healthz, readiness /readyz) and the per-command request
// counters and latency histograms of the protocol handlers.
//
// Everything on the request path is a pre-resolved prometheus counter or
// histogram (atomic adds, no map lookup, no lock for a successful
// request); the daemons' other figures (disk, sync lag, cluster map) are
// read by their collectors at scrape time only.
package daemonmetrics
