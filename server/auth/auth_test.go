package auth

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

func testAuth(t *testing.T) *Authenticator {
	t.Helper()
	a, err := New([]Key{{Name: "w", Secret: "write-secret", Write: true}, {Name: "r", Secret: "read-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCheck(t *testing.T) {
	a := testAuth(t)
	for _, tc := range []struct {
		secret string
		access Access
		want   error
		name   string
	}{
		{"", Public, nil, ""},
		{"bogus", Public, nil, ""},
		{"read-secret", Public, nil, "r"},
		{"", Read, ErrNoKey, ""},
		{"bogus", Read, ErrUnknownKey, ""},
		{"read-secret", Read, nil, "r"},
		{"write-secret", Read, nil, "w"},
		{"read-secret", Write, ErrReadOnly, "r"},
		{"write-secret", Write, nil, "w"},
		{"write-secre", Write, ErrUnknownKey, ""},
		{"", Write, ErrNoKey, ""},
	} {
		p, err := a.Check(tc.secret, tc.access)
		if !errors.Is(err, tc.want) || p.Name != tc.name {
			t.Errorf("Check(%q, %d) = %+v, %v; want %q, %v", tc.secret, tc.access, p, err, tc.name, tc.want)
		}
	}
	if p, err := Disabled().Check("", Write); err != nil || p != Anonymous {
		t.Errorf("disabled: %+v, %v", p, err)
	}
	if p, err := (&Authenticator{}).Check("x", Read); err == nil {
		t.Errorf("zero Authenticator let %+v in", p)
	}
}

func TestNewRejects(t *testing.T) {
	for _, keys := range [][]Key{
		{{Name: "a", Secret: ""}},
		{{Name: "", Secret: "x"}},
		{{Name: "a", Secret: "x"}, {Name: "a", Secret: "y"}},
		{{Name: "a", Secret: "x"}, {Name: "b", Secret: "x"}},
	} {
		if _, err := New(keys); err == nil {
			t.Errorf("New(%+v) accepted", keys)
		}
	}
}

func TestFromHeaderAndMetadata(t *testing.T) {
	for _, tc := range []struct {
		hdr  map[string]string
		want string
	}{
		{map[string]string{"Authorization": "Bearer abc"}, "abc"},
		{map[string]string{"Authorization": "bearer   abc "}, "abc"},
		{map[string]string{"Authorization": "Basic abc"}, ""},
		{map[string]string{"Authorization": "Basic abc", "X-API-Key": "k"}, "k"},
		{map[string]string{"X-API-Key": "k"}, "k"},
		{nil, ""},
	} {
		h := http.Header{}
		md := metadata.MD{}
		for k, v := range tc.hdr {
			h.Set(k, v)
			md.Set(k, v)
		}
		if got := FromHeader(h); got != tc.want {
			t.Errorf("FromHeader(%v) = %q, want %q", tc.hdr, got, tc.want)
		}
		if got := FromMetadata(md); got != tc.want {
			t.Errorf("FromMetadata(%v) = %q, want %q", tc.hdr, got, tc.want)
		}
	}
}

func TestMethodAccess(t *testing.T) {
	for m, want := range map[string]Access{
		"/grpc.health.v1.Health/Check":                                   Public,
		"/grpc.health.v1.Health/Watch":                                   Public,
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      Read,
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": Read,
		"/fastdfs.v1.FileService/DownloadFile":                           Read,
		"/fastdfs.v1.FileService/GetFileInfo":                            Read,
		"/fastdfs.v1.FileService/CreateDownloadUrl":                      Read,
		"/fastdfs.v1.ClusterService/ListGroups":                          Read,
		"/fastdfs.v1.FileService/UploadFile":                             Write,
		"/fastdfs.v1.FileService/DeleteFile":                             Write,
		"/fastdfs.v1.ClusterService/DeleteStorage":                       Write,
		"/fastdfs.v1.FileService/SomethingNew":                           Write,
		"/other.Service/GetThing":                                        Write,
	} {
		if got := MethodAccess(m); got != want {
			t.Errorf("MethodAccess(%s) = %d, want %d", m, got, want)
		}
	}
}

// TestMiddleware runs the middleware in a real HTTP server.
func TestMiddleware(t *testing.T) {
	a := testAuth(t)
	srv := httptest.NewServer(a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := FromContext(r.Context())
		io.WriteString(w, p.Name)
	})))
	defer srv.Close()
	for _, tc := range []struct {
		method, key string
		code        int
		body        string
	}{
		{"GET", "", 401, `"code":16`},
		{"GET", "nope", 401, "unknown API key"},
		{"GET", "read-secret", 200, "r"},
		{"HEAD", "read-secret", 200, ""},
		{"POST", "read-secret", 403, `"code":7`},
		{"DELETE", "read-secret", 403, "read-only"},
		{"POST", "write-secret", 200, "w"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL, nil)
		if tc.key != "" {
			req.Header.Set("Authorization", "Bearer "+tc.key)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.body) {
			t.Errorf("%s with %q: %s %q; want %d containing %q", tc.method, tc.key, resp.Status, b, tc.code, tc.body)
		}
		if tc.code == 401 && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s with %q: 401 without a challenge", tc.method, tc.key)
		}
	}
}

func TestStatusErrorInfo(t *testing.T) {
	tests := []struct {
		err    error
		code   codes.Code
		reason string
		http   int
	}{
		{ErrNoKey, codes.Unauthenticated, ReasonKeyMissing, http.StatusUnauthorized},
		{ErrUnknownKey, codes.Unauthenticated, ReasonKeyInvalid, http.StatusUnauthorized},
		{ErrReadOnly, codes.PermissionDenied, ReasonKeyReadOnly, http.StatusForbidden},
	}
	for _, tc := range tests {
		st := Status(tc.err)
		if st.Code() != tc.code || len(st.Details()) != 1 {
			t.Fatalf("%v: %v", tc.err, st)
		}
		if info := st.Details()[0].(*errdetails.ErrorInfo); info.GetReason() != tc.reason || info.GetDomain() != ErrorDomain {
			t.Fatalf("%v: ErrorInfo %v", tc.err, info)
		}
		rec := httptest.NewRecorder()
		WriteHTTPError(rec, tc.err)
		var body struct {
			Code    int `json:"code"`
			Details []struct {
				Reason string `json:"reason"`
			} `json:"details"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != tc.http || body.Code != int(tc.code) || len(body.Details) != 1 || body.Details[0].Reason != tc.reason {
			t.Fatalf("%v: %d %s", tc.err, rec.Code, rec.Body)
		}
	}
}
