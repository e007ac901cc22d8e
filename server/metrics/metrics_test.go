package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

func TestHTTPMetrics(t *testing.T) {
	m := New()
	m.StartHTTP()("POST", "/v1/files", codes.OK, 100, 20)
	m.StartHTTP()("GET", "", codes.NotFound, 0, 10)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`fdfs_gateway_requests_total{code="OK",method="POST /v1/files",protocol="http"} 1`,
		`fdfs_gateway_requests_total{code="NotFound",method="unmatched",protocol="http"} 1`,
		`fdfs_gateway_bytes_total{direction="in",method="POST /v1/files",protocol="http"} 100`,
		`fdfs_gateway_bytes_total{direction="out",method="unmatched",protocol="http"} 10`,
		`fdfs_gateway_requests_in_flight{protocol="http"} 0`,
		`fdfs_gateway_request_duration_seconds_bucket{method="POST /v1/files",protocol="http",le="+Inf"} 1`,
		"process_cpu_seconds_total",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(b), `"unknown"`) || strings.Contains(string(b), `code="Unknown"`) {
		t.Errorf("metrics have unknown labels:\n%s", b)
	}
}

func TestCodeOfHTTP(t *testing.T) {
	for s, want := range map[int]codes.Code{
		0: codes.Aborted, 200: codes.OK, 201: codes.OK, 206: codes.OK, 304: codes.OK,
		400: codes.InvalidArgument, 401: codes.Unauthenticated, 403: codes.PermissionDenied,
		404: codes.NotFound, 405: codes.Unimplemented, 412: codes.FailedPrecondition,
		413: codes.ResourceExhausted, 416: codes.OutOfRange, 418: codes.InvalidArgument,
		500: codes.Internal, 503: codes.Unavailable, 504: codes.DeadlineExceeded,
	} {
		if got := CodeOfHTTP(s); got != want {
			t.Errorf("CodeOfHTTP(%d) = %v, want %v", s, got, want)
		}
	}
}
