// Package gateway tests the fastdfs.v1 API server (server/gateway) end to
// end: a real cluster (tests/cluster), a real gateway on loopback ports, and
// real HTTP and gRPC clients. It covers every REST route (raw upload,
// download with ranges and conditional requests, append, the JSON routes),
// API key refusals over both protocols, limits, metrics, health and
// reflection, graceful shutdown, a 1 GiB transfer in bounded memory, and
// resumable uploads (gRPC upload sessions and tus): interruptions, two
// gateways on one session, refusals and expiry. FuzzREST and FuzzGRPC
// send arbitrary requests to both ports and check that each gets a
// documented error, in bounded time, without a panic, and changes nothing
// it should not (fuzz_env_test.go).
package gateway
