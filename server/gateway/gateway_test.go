package gateway

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestOpenAPIDocument(t *testing.T) {
	spec := `{"swagger":"2.0","info":{"title":"x"},"paths":{"/v1/files/{fileId}":{"get":{"operationId":"info"}}},"definitions":{"rpcStatus":{}}}`
	for _, in := range []string{spec, ""} {
		out, err := openAPIDocument([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Paths map[string]map[string]any `json:"paths"`
			Sec   map[string]any            `json:"securityDefinitions"`
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		want := []string{"/v1/files post", "/v1/files/{fileId}:download get", "/v1/files/{fileId}:download head", "/v1/files/{fileId}:append post"}
		if in != "" {
			want = append(want, "/v1/files/{fileId} get")
		}
		for _, w := range want {
			p, m, _ := strings.Cut(w, " ")
			if doc.Paths[p][m] == nil {
				t.Errorf("input %.20q: no %s", in, w)
			}
		}
		if doc.Sec["bearer"] == nil || doc.Sec["apiKey"] == nil {
			t.Errorf("security definitions %v", doc.Sec)
		}
	}
	if _, err := openAPIDocument([]byte("{not json")); err == nil {
		t.Error("a broken document was accepted")
	}
}

func TestRequestIDs(t *testing.T) {
	for id, ok := range map[string]bool{
		"abc-123":                true,
		"a.b_c:d":                true,
		"":                       false,
		"has space":              false,
		"line\nbreak":            false,
		strings.Repeat("x", 128): true,
		strings.Repeat("x", 129): false,
		"ünïcode":                false,
	} {
		if validRequestID(id) != ok {
			t.Errorf("validRequestID(%q) = %v", id, !ok)
		}
	}
	a, b := newRequestID(), newRequestID()
	if a == b || len(a) != 16 || !validRequestID(a) {
		t.Errorf("newRequestID: %q, %q", a, b)
	}
}
