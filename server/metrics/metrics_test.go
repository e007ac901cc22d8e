package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHTTPMetrics(t *testing.T) {
	m := New()
	m.StartHTTP()("/v1/files", 201, 100, 20)
	m.StartHTTP()("", 404, 0, 10)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`fdfs_gateway_requests_total{code="201",method="/v1/files",protocol="http"} 1`,
		`fdfs_gateway_requests_total{code="404",method="unknown",protocol="http"} 1`,
		`fdfs_gateway_bytes_total{direction="in",method="/v1/files",protocol="http"} 100`,
		`fdfs_gateway_bytes_total{direction="out",method="unknown",protocol="http"} 10`,
		`fdfs_gateway_requests_in_flight{protocol="http"} 0`,
		`fdfs_gateway_request_duration_seconds_bucket{method="/v1/files",protocol="http",le="+Inf"} 1`,
		"process_cpu_seconds_total",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
