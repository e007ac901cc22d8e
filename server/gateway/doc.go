// Package gateway assembles the fastdfs.v1 API server behind `fdfs
// gateway` and `fdfs dev`:
//
//   - a gRPC server (its own port) with FileService and ClusterService
//     (server/grpcapi), grpc.health.v1 and server reflection, behind
//     interceptors for request IDs and access logs, API keys
//     (server/auth), the upload size limit and the unary timeout, and a
//     stats handler for the Prometheus metrics (server/metrics);
//   - an HTTP server (a second port) with the grpc-gateway JSON routes, the
//     raw-byte routes of server/rest next to them on the same
//     runtime.ServeMux, /openapi.json, /metrics and /healthz. Without TLS,
//     internal/httpfast sits in front of it and answers small downloads
//     itself (authenticated, logged and counted like the others).
//
// The JSON routes reach the services through a client connection to a
// second, in-memory gRPC server (over internal/memconn) that has no
// listener of its own: requests are authenticated once, by the HTTP
// middleware, and a client on the network cannot bypass it.
//
// A request that is not a valid message is the client's fault on both
// ports: gRPC answers INVALID_ARGUMENT (every service is registered
// through grpcapi's strict handlers), REST 400 (bad JSON, URL parameters
// that are not UTF-8).
//
// Shutdown is graceful: health turns NOT_SERVING, the listeners close and
// requests in flight, transfers included, finish within
// limits.shutdown_timeout before the remaining connections are closed.
package gateway
