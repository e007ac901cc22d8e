package rest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/server/fileops"
	"github.com/fdfsgo/fdfs/server/fileops/fileopstest"
	"github.com/fdfsgo/fdfs/server/rest"
)

// fakeMux serves the raw routes over eng.
func fakeMux(t *testing.T, eng *fileopstest.Engine) http.Handler {
	t.Helper()
	mux := runtime.NewServeMux()
	if _, err := rest.Register(mux, rest.Options{Client: eng}); err != nil {
		t.Fatal(err)
	}
	return mux
}

func do(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// rpcStatus is the JSON error body.
type rpcStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []struct {
		Reason   string            `json:"reason"`
		Metadata map[string]string `json:"metadata"`
	} `json:"details"`
}

func TestUploadKinds(t *testing.T) {
	data := []byte("raw upload content")
	tests := []struct {
		name  string
		query string // with "<master>" for the master's ID
		kind  string // of the new file, as client.FileType
		meta  map[string]string
	}{
		{"default", "ext=txt", "normal", nil},
		{"normal with metadata", "kind=normal&meta.a=1&meta.b=2", "normal", map[string]string{"a": "1", "b": "2"}},
		{"appender", "kind=appender&group=group2", "appender", nil},
		{"slave", "kind=slave&master_file_id=<master>&prefix=_t", "slave", nil},
		{"slave with metadata", "kind=slave&master_file_id=<master>&prefix=_m&ext=png&meta.k=v", "slave", map[string]string{"k": "v"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := fileopstest.New()
			h := fakeMux(t, eng)
			master := eng.Put(fileops.Normal, "jpg", []byte("master"), nil)
			q := strings.ReplaceAll(tc.query, "<master>", url.QueryEscape(master))
			w := do(h, httptest.NewRequest(http.MethodPost, "/v1/files?"+q, bytes.NewReader(data)))
			if w.Code != http.StatusCreated {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			var resp struct {
				FileID string `json:"fileId"`
				Size   string `json:"size"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
			if resp.Size != fmt.Sprint(len(data)) || w.Header().Get("Location") != "/v1/files/"+resp.FileID+":download" {
				t.Errorf("response %+v, Location %q", resp, w.Header().Get("Location"))
			}
			_, name, err := client.DecodeFileID(resp.FileID)
			if err != nil || client.FileType(name) != tc.kind {
				t.Fatalf("file %s: %v, want a %s file", resp.FileID, err, tc.kind)
			}
			got, meta, _ := eng.File(resp.FileID)
			if !bytes.Equal(got, data) || !maps.Equal(meta, tc.meta) {
				t.Fatalf("stored %q with %v, want %v", got, meta, tc.meta)
			}
			w = do(h, httptest.NewRequest(http.MethodGet, w.Header().Get("Location"), nil))
			if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), data) {
				t.Fatalf("download: %d %q", w.Code, w.Body)
			}
		})
	}
}

// multipartBody is a form with a "size" field of size and a file part
// of content.
func multipartBody(t *testing.T, size int, content string) (io.Reader, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("size", fmt.Sprint(size))
	fw, err := mw.CreateFormFile("file", "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(fw, content)
	mw.Close()
	return &b, mw.FormDataContentType()
}

// TestErrors: HTTP statuses and error bodies, and the cleanup of failed
// uploads.
func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		req    func(t *testing.T, master, app string) *http.Request
		fail   func(op, id string) error
		status int
		reason string // of the ErrorInfo, "" for none
		left   int    // files left: the master and the appender included
	}{
		{name: "missing master", req: func(_ *testing.T, m, _ string) *http.Request {
			return post("/v1/files?kind=slave&prefix=_x&master_file_id="+url.QueryEscape(m[:len(m)-4]+".png"), "abc")
		}, status: http.StatusNotFound, reason: fileops.ReasonFileNotFound, left: 2},
		{name: "slave metadata fails", req: func(_ *testing.T, m, _ string) *http.Request {
			return post("/v1/files?kind=slave&prefix=_x&meta.k=v&master_file_id="+url.QueryEscape(m), "abc")
		}, fail: failOn(fileopstest.OpSetMetadata, protocol.ErrNoSpace), status: http.StatusTooManyRequests, reason: "NO_SPACE", left: 2},
		{name: "more content than the form says", req: func(t *testing.T, _, _ string) *http.Request {
			body, ct := multipartBody(t, 3, "abcdef")
			r := httptest.NewRequest(http.MethodPost, "/v1/files?kind=appender", body)
			r.Header.Set("Content-Type", ct)
			return r
		}, status: http.StatusBadRequest, left: 2},
		{name: "slave, more content than the form says", req: func(t *testing.T, m, _ string) *http.Request {
			body, ct := multipartBody(t, 3, "abcdef")
			r := httptest.NewRequest(http.MethodPost, "/v1/files?kind=slave&prefix=_x&master_file_id="+url.QueryEscape(m), body)
			r.Header.Set("Content-Type", ct)
			return r
		}, status: http.StatusBadRequest, left: 2},
		{name: "body shorter than announced", req: func(_ *testing.T, _, _ string) *http.Request {
			r := post("/v1/files", "abc")
			r.ContentLength = 10
			return r
		}, status: http.StatusBadRequest, left: 2},
		{name: "no storage", req: func(_ *testing.T, _, _ string) *http.Request { return post("/v1/files", "abc") },
			fail:   failOn(fileopstest.OpUpload, fmt.Errorf("%w: %w", client.ErrNoStorage, protocol.ErrNotFound)),
			status: http.StatusServiceUnavailable, reason: fileops.ReasonNoStorage, left: 2},
		{name: "bad kind", req: func(_ *testing.T, _, _ string) *http.Request { return post("/v1/files?kind=big", "abc") },
			status: http.StatusBadRequest, left: 2},
		{name: "slave without prefix", req: func(_ *testing.T, m, _ string) *http.Request {
			return post("/v1/files?kind=slave&master_file_id="+url.QueryEscape(m), "abc")
		}, status: http.StatusBadRequest, left: 2},
		{name: "append to a normal file", req: func(_ *testing.T, m, _ string) *http.Request { return post("/v1/files/"+m+":append", "abc") },
			status: http.StatusBadRequest, reason: "NOT_APPENDER_FILE", left: 2},
		{name: "append, more than announced", req: func(t *testing.T, _, app string) *http.Request {
			body, ct := multipartBody(t, 2, "xyz")
			r := httptest.NewRequest(http.MethodPost, "/v1/files/"+app+":append", body)
			r.Header.Set("Content-Type", ct)
			return r
		}, status: http.StatusBadRequest, left: 2},
		{name: "append, busy", req: func(_ *testing.T, _, app string) *http.Request { return post("/v1/files/"+app+":append", "abc") },
			fail: failOn(fileopstest.OpAppend, protocol.ErrBusy), status: http.StatusBadRequest, reason: "BUSY", left: 2},
		{name: "download missing", req: func(_ *testing.T, m, _ string) *http.Request {
			return httptest.NewRequest(http.MethodGet, "/v1/files/"+m[:len(m)-4]+".png:download", nil)
		}, status: http.StatusNotFound, reason: fileops.ReasonFileNotFound, left: 2},
		{name: "head, timeout", req: func(_ *testing.T, m, _ string) *http.Request {
			return httptest.NewRequest(http.MethodHead, "/v1/files/"+m+":download", nil)
		}, fail: failOn(fileopstest.OpFileInfo, protocol.ErrTimeout), status: http.StatusGatewayTimeout, left: 2},
		{name: "download, connection lost", req: func(_ *testing.T, m, _ string) *http.Request {
			return httptest.NewRequest(http.MethodGet, "/v1/files/"+m+":download", nil)
		}, fail: failOn(fileopstest.OpDownload, io.ErrUnexpectedEOF), status: http.StatusServiceUnavailable, reason: fileops.ReasonUnavailable, left: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := fileopstest.New()
			h := fakeMux(t, eng)
			master := eng.Put(fileops.Normal, "jpg", []byte("master"), nil)
			app := eng.Put(fileops.Appender, "log", []byte("ab"), nil)
			eng.Fail = tc.fail
			w := do(h, tc.req(t, master, app))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.reason != "" {
				var st rpcStatus
				if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
					t.Fatalf("body %q: %v", w.Body, err)
				}
				if len(st.Details) != 1 || st.Details[0].Reason != tc.reason {
					t.Fatalf("body %s, want reason %s", w.Body, tc.reason)
				}
			}
			if ids := eng.IDs(); len(ids) != tc.left {
				t.Fatalf("files left %q, want %d", ids, tc.left)
			}
		})
	}
}

func post(target, body string) *http.Request {
	return httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
}

func failOn(op string, err error) func(string, string) error {
	return func(o, _ string) error {
		if o == op {
			return err
		}
		return nil
	}
}
