// Package metrics holds the gateway's Prometheus metrics: requests,
// latency and bytes moved per method, for gRPC (via a grpc stats.Handler)
// and for REST (observed by the gateway's HTTP middleware), plus the Go
// runtime and process collectors. Handler serves them in the Prometheus
// text format at /metrics.
//
// Method labels are bounded: gRPC methods not registered on the server and
// HTTP requests that match no route are counted as "unknown", so a client
// cannot grow the label space.
package metrics
