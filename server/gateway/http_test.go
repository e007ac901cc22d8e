package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestAPIPathsAsSent checks that the API's paths reach the API mux as
// sent, dot segments and double slashes included, instead of
// http.ServeMux's redirect to the cleaned path (another file ID).
func TestAPIPathsAsSent(t *testing.T) {
	var got string
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = "api " + r.URL.Path })
	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { got = "root " + r.URL.Path })
	root.Handle("/", mux)
	h := apiAsSent(root, mux)
	for _, tc := range []struct {
		method, target string
		code           int
		want           string
	}{
		{"DELETE", "/v1/files/group1/M00/00/00/zz/../name.txt", 200, "api /v1/files/group1/M00/00/00/zz/../name.txt"},
		{"GET", "/v1/files/group1//etc/passwd:download", 200, "api /v1/files/group1//etc/passwd:download"},
		{"GET", "/v1/files/group1/M00/00/00/..%2f..%2fx:download", 200, "api /v1/files/group1/M00/00/00/../../x:download"},
		{"GET", "/v1/groups", 200, "api /v1/groups"},
		{"GET", "/healthz", 200, "root /healthz"},
		{"GET", "/x/../healthz", http.StatusTemporaryRedirect, ""},
		{"GET", "*", 200, "api *"},
		{"CONNECT", "example.com:443", 200, "api "},
	} {
		got = ""
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.target, nil))
		if w.Code != tc.code || got != tc.want {
			t.Errorf("%s %s: %d, %q; want %d, %q", tc.method, tc.target, w.Code, got, tc.code, tc.want)
		}
	}
}
