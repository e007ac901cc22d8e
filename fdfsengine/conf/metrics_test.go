package conf

import (
	"strings"
	"testing"
)

func TestMetricsListen(t *testing.T) {
	for _, tc := range []struct {
		line, want, err string
	}{
		{"", "", ""},
		{"metrics_listen =", "", ""},
		{"metrics_listen = 127.0.0.1:9101", "127.0.0.1:9101", ""},
		{"metrics_listen = :9101", ":9101", ""},
		{"metrics_listen = [::1]:9101", "[::1]:9101", ""},
		{"metrics_listen = 9101", "", `metrics_listen: "9101" is not host:port`},
		{"metrics_listen = host:9101:1", "", "metrics_listen"},
	} {
		tr, terr := ParseTracker([]byte("base_path = /tmp\n"+tc.line+"\n"), "/etc/fdfs")
		st, serr := ParseStorage([]byte("base_path = /tmp\ntracker_server = 10.0.0.1:22122\n"+tc.line+"\n"), "/etc/fdfs")
		for _, r := range []struct {
			kind, got string
			err       error
		}{{"tracker", field(tr, func(c *Tracker) string { return c.MetricsListen }), terr}, {"storage", field(st, func(c *Storage) string { return c.MetricsListen }), serr}} {
			switch {
			case tc.err == "" && (r.err != nil || r.got != tc.want):
				t.Errorf("%s %q: %q, %v; want %q", r.kind, tc.line, r.got, r.err, tc.want)
			case tc.err != "" && (r.err == nil || !strings.Contains(r.err.Error(), tc.err)):
				t.Errorf("%s %q: error %v, want one containing %q", r.kind, tc.line, r.err, tc.err)
			}
		}
	}
}

func field[C any](c *C, f func(*C) string) string {
	if c == nil {
		return ""
	}
	return f(c)
}
