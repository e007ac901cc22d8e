package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(http.StripPrefix("", Handler()))
	defer srv.Close()
	for _, tc := range []struct {
		path, contentType, contains string
		code                        int
	}{
		{"/console/", "text/html", `<script src="console.js"`, 200},
		{"/console/console.js", "javascript", `"X-API-Key"`, 200},
		{"/console/console.css", "text/css", "#drop", 200},
		{"/console/nothing.js", "", "", 404},
		{"/console/../go.mod", "", "", 404},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(resp.Header.Get("Content-Type"), tc.contentType) || !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s = %d %q, want %d %s containing %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.code, tc.contentType, tc.contains)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", tc.path, csp)
		}
	}
}
