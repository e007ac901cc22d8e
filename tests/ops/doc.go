// Package ops tests what operators use, against the real fdfs binary: the
// daemons' metrics_listen (Prometheus metrics, /healthz, /readyz) and the
// gateway's web console driven in headless Chromium (console_test.go,
// skipped when no chromium is installed).
package ops
