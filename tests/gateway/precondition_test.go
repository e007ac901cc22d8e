package gateway

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/fdfsgo/fdfs/server/fileops"
)

// storedCount counts the files (and metadata files) in storage 0's first
// store path.
func storedCount(t *testing.T, e *env) int {
	t.Helper()
	n := 0
	data := filepath.Join(e.c.Storages[0].StorePaths[0], "data")
	err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(data, path)
		if d.Type().IsRegular() && strings.Count(rel, string(filepath.Separator)) == 2 {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// fileInfo returns GET /v1/files/{id}'s etag field and ETag header.
func fileInfo(t *testing.T, e *env, id string) (field, header string) {
	t.Helper()
	resp, b := do(t, "GET", e.url("/v1/files/"+id), roKey, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("file info: %s %s", resp.Status, b)
	}
	var fi struct {
		Etag string `json:"etag"`
	}
	if err := json.Unmarshal(b, &fi); err != nil {
		t.Fatal(err)
	}
	return fi.Etag, resp.Header.Get("ETag")
}

// TestRESTPreconditions: expected_size on the raw append, If-Match on
// DELETE and :setMetadata (412 with a google.rpc.Status), ETag headers
// equal to FileInfo.etag.
func TestRESTPreconditions(t *testing.T) {
	e := startEnv(t, nil)
	id := e.upload(t, "?kind=appender&ext=log", []byte("abc"))

	appendURL := e.url("/v1/files/" + id + ":append?expected_size=3")
	resp, b := do(t, "POST", appendURL, rwKey, bytes.NewReader([]byte("def")), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("append: %s %s", resp.Status, b)
	}
	resp, b = do(t, "POST", appendURL, rwKey, bytes.NewReader([]byte("def")), nil)
	s := wantJSONStatus(t, "retried append", resp, b, http.StatusPreconditionFailed, codes.FailedPrecondition, fileops.ReasonSizeMismatch, "")
	if md := s.Details[0].Metadata; md["actual_size"] != "6" {
		t.Errorf("metadata %v", md)
	}
	resp, b = e.download(t, id, nil)
	if string(b) != "abcdef" {
		t.Fatalf("content %q: appended twice", b)
	}
	resp, b = do(t, "POST", e.url("/v1/files/"+id+":append?expected_size=-1"), rwKey, bytes.NewReader([]byte("x")), nil)
	wantJSONStatus(t, "bad expected_size", resp, b, http.StatusBadRequest, codes.InvalidArgument, fileops.ReasonInvalidArgument, "expected_size")

	// JSON truncate with expectedSize.
	resp, b = do(t, "POST", e.url("/v1/files/"+id+":truncate"), rwKey, strings.NewReader(`{"size":"5","expectedSize":"3"}`), nil)
	wantJSONStatus(t, "truncate", resp, b, http.StatusPreconditionFailed, codes.FailedPrecondition, fileops.ReasonSizeMismatch, "")

	field, header := fileInfo(t, e, id)
	if field == "" || header != field {
		t.Fatalf("etag field %q, ETag header %q", field, header)
	}
	if resp, _ := do(t, "HEAD", e.url("/v1/files/"+id+":download"), roKey, nil, nil); resp.Header.Get("ETag") != field {
		t.Fatalf("download ETag %q, FileInfo etag %q", resp.Header.Get("ETag"), field)
	}
	stale := field
	resp, b = do(t, "POST", e.url("/v1/files/"+id+":append?expected_size=6"), rwKey, bytes.NewReader([]byte("g")), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("append: %s %s", resp.Status, b)
	}
	current, _ := fileInfo(t, e, id)
	if current == stale {
		t.Fatalf("etag %s unchanged by an append", current)
	}

	setMeta := func(body string, hdr map[string]string) (*http.Response, []byte) {
		return do(t, "POST", e.url("/v1/files/"+id+":setMetadata"), rwKey, strings.NewReader(body), hdr)
	}
	resp, b = setMeta(`{"metadata":{"a":"1"},"mode":"SET_METADATA_MODE_OVERWRITE"}`, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("set metadata: %s %s", resp.Status, b)
	}
	resp, b = setMeta(`{"metadata":{"a":"2"},"mode":"SET_METADATA_MODE_OVERWRITE"}`, map[string]string{"If-Match": stale})
	s = wantJSONStatus(t, "set metadata, stale If-Match", resp, b, http.StatusPreconditionFailed, codes.FailedPrecondition, fileops.ReasonEtagMismatch, "")
	if s.Details[0].Metadata["etag"] != current {
		t.Errorf("metadata %v, want etag %s", s.Details[0].Metadata, current)
	}
	resp, b = setMeta(`{"metadata":{"a":"2"},"mode":"SET_METADATA_MODE_OVERWRITE","ifMatch":`+jsonString(stale)+`}`, nil)
	wantJSONStatus(t, "set metadata, stale ifMatch", resp, b, http.StatusPreconditionFailed, codes.FailedPrecondition, fileops.ReasonEtagMismatch, "")
	resp, b = do(t, "DELETE", e.url("/v1/files/"+id), rwKey, nil, map[string]string{"If-Match": stale})
	wantJSONStatus(t, "delete, stale If-Match", resp, b, http.StatusPreconditionFailed, codes.FailedPrecondition, fileops.ReasonEtagMismatch, "")
	for _, notASCII := range []string{`"\xffx"`, "\"a\tb\"", current + "\x80"} {
		resp, b = do(t, "DELETE", e.url("/v1/files/"+id), rwKey, nil, map[string]string{"If-Match": notASCII})
		wantJSONStatus(t, "delete, If-Match not ASCII", resp, b, http.StatusPreconditionFailed, codes.FailedPrecondition, fileops.ReasonEtagMismatch, "")
		resp, b = setMeta(`{"metadata":{"a":"3"},"mode":"SET_METADATA_MODE_OVERWRITE"}`, map[string]string{"If-Match": notASCII})
		wantJSONStatus(t, "set metadata, If-Match not ASCII", resp, b, http.StatusPreconditionFailed, codes.FailedPrecondition, fileops.ReasonEtagMismatch, "")
	}
	if _, b = do(t, "GET", e.url("/v1/files/"+id+":getMetadata"), roKey, nil, nil); !strings.Contains(string(b), `"a":"1"`) {
		t.Fatalf("metadata changed by a refused write: %s", b)
	}

	resp, b = setMeta(`{"metadata":{"a":"2"},"mode":"SET_METADATA_MODE_OVERWRITE"}`, map[string]string{"If-Match": current})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("set metadata with the current etag: %s %s", resp.Status, b)
	}
	resp, b = do(t, "DELETE", e.url("/v1/files/"+id), rwKey, nil, map[string]string{"If-Match": current})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("delete with the current etag: %s %s", resp.Status, b)
	}
	if resp, _ := do(t, "GET", e.url("/v1/files/"+id), roKey, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted file: %s", resp.Status)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestRESTIdempotencyKey: the raw upload with an Idempotency-Key stores
// once, also when the repeat comes over gRPC (one memory per gateway).
func TestRESTIdempotencyKey(t *testing.T) {
	e := startEnv(t, nil)
	before := storedCount(t, e)
	up := func(key, content string) (*http.Response, []byte) {
		return do(t, "POST", e.url("/v1/files?ext=txt"), rwKey, strings.NewReader(content), map[string]string{"Idempotency-Key": key})
	}
	resp, b := up("k1", "hello")
	resp2, b2 := up("k1", "hello")
	if resp.StatusCode != http.StatusCreated || resp2.StatusCode != http.StatusCreated || string(b) != string(b2) {
		t.Fatalf("upload then repeat: %s %s / %s %s", resp.Status, b, resp2.Status, b2)
	}
	if n := storedCount(t, e) - before; n != 1 {
		t.Fatalf("%d files stored, want 1", n)
	}
	resp, b3 := up("k1", "hello, other")
	wantJSONStatus(t, "key reused", resp, b3, http.StatusPreconditionFailed, codes.FailedPrecondition, fileops.ReasonIdempotencyKeyReused, "")
	// The query parameter is the same key.
	resp, b4 := do(t, "POST", e.url("/v1/files?ext=txt&idempotency_key=k1"), rwKey, strings.NewReader("hello"), nil)
	if resp.StatusCode != http.StatusCreated || string(b4) != string(b) {
		t.Fatalf("repeat by query: %s %s", resp.Status, b4)
	}
	if resp, b := up("k2", "hello"); resp.StatusCode != http.StatusCreated || string(b) == string(b2) {
		t.Fatalf("another key: %s %s", resp.Status, b)
	}
	if n := storedCount(t, e) - before; n != 2 {
		t.Fatalf("%d files stored, want 2", n)
	}
}
