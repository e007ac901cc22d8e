package daemonmetrics

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

func TestRequests(t *testing.T) {
	r := NewRequests("storage")
	r.Observe(protocol.CmdUploadFile, 0, time.Millisecond)
	r.Observe(protocol.CmdUploadFile, 0, 2*time.Millisecond)
	r.Observe(protocol.CmdDownloadFile, protocol.ENOENT, time.Millisecond)
	r.Observe(250, 22, time.Millisecond) // unknown command: "other"
	for _, tc := range []struct {
		command, status string
		want            float64
	}{
		{"upload_file", "0", 2},
		{"download_file", "2", 1},
		// The success child is created with the command's first request,
		// so a command that only failed shows 0 successes.
		{"download_file", "0", 0},
		{"other", "22", 1},
	} {
		if got := testutil.ToFloat64(r.total.WithLabelValues(tc.command, tc.status)); got != tc.want {
			t.Errorf("requests_total{%s,%s} = %v, want %v", tc.command, tc.status, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(r, "fdfs_storage_request_duration_seconds"); n != 3 {
		t.Errorf("%d duration series, want 3 (upload_file, download_file, other)", n)
	}
}

func TestListen(t *testing.T) {
	notReady := errors.New("not joined to a tracker yet")
	var state error = notReady
	reg := NewRegistry(NewRequests("tracker"))
	s, err := Listen("127.0.0.1:0", reg, func() error { return state }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + s.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		path     string
		ready    error
		code     int
		contains string
	}{
		{"/healthz", notReady, 200, "ok"},
		{"/readyz", notReady, 503, "not ready: not joined"},
		{"/readyz", nil, 200, "ready"},
		{"/metrics", nil, 200, "go_goroutines"},
		{"/nothing", nil, 404, ""},
	} {
		state = tc.ready
		code, body := get(tc.path)
		if code != tc.code || !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s (ready %v) = %d %q, want %d containing %q", tc.path, tc.ready, code, body, tc.code, tc.contains)
		}
	}
	if _, err := Listen(s.Addr(), reg, nil, nil); err == nil || !strings.Contains(err.Error(), "metrics_listen") {
		t.Errorf("second Listen on %s: %v, want an error naming metrics_listen", s.Addr(), err)
	}
}

// BenchmarkObserve is what the request path pays per request.
func BenchmarkObserve(b *testing.B) {
	r := NewRequests("storage")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			began := time.Now()
			r.Observe(protocol.CmdDownloadFile, 0, time.Since(began))
		}
	})
}
