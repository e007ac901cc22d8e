// Package config loads gateway.yaml, the configuration of the gRPC/REST
// gateway (fdfs gateway): where the FastDFS cluster is (tracker addresses or
// an upstream client.conf), the gRPC and HTTP listen addresses, optional TLS,
// the API keys with their read-only or read-write mode, and the limits
// (upload size, timeouts, concurrent streams, shutdown grace period).
//
// Unknown keys are errors, so that a typo does not silently fall back to a
// default. Sizes accept the units of upstream .conf files ("10GB", "256KB");
// durations are Go durations ("30s", "5m").
package config
