package conf

import "net"

// MetricsListenKey is the conf key of both daemons that turns on their
// Prometheus metrics and health endpoints (an fdfs extension: upstream
// ignores unknown keys, so a conf file with it still loads there).
const MetricsListenKey = "metrics_listen"

// metricsListen reads metrics_listen: "" (off, the default) or a
// "host:port" to serve /metrics, /healthz and /readyz on.
func (r *reader) metricsListen() string {
	it := r.at(MetricsListenKey)
	v := it.str("")
	if v == "" {
		return ""
	}
	if _, _, err := net.SplitHostPort(v); err != nil {
		it.fail("host:port, e.g. 127.0.0.1:9101 (empty = off)", "%q is not host:port: %v", v, err)
		return ""
	}
	return v
}
