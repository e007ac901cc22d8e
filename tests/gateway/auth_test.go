package gateway

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
)

func TestAuthREST(t *testing.T) {
	e := startEnv(t, nil)
	id := e.upload(t, "?ext=txt", []byte("secret content"))

	for _, tc := range []struct {
		name, method, path, key string
		hdr                     map[string]string
		body                    string
		code                    int
	}{
		{"download without key", "GET", "/v1/files/" + id + ":download", "", nil, "", 401},
		{"download with unknown key", "GET", "/v1/files/" + id + ":download", "not-a-configured-key-000", nil, "", 401},
		{"download with malformed authorization", "GET", "/v1/files/" + id + ":download", "", map[string]string{"Authorization": "Basic " + roKey}, "", 401},
		{"download read-only", "GET", "/v1/files/" + id + ":download", roKey, nil, "", 200},
		{"download x-api-key", "GET", "/v1/files/" + id + ":download", "", map[string]string{"X-API-Key": roKey}, "", 200},
		{"head without key", "HEAD", "/v1/files/" + id + ":download", "", nil, "", 401},
		{"info without key", "GET", "/v1/files/" + id, "", nil, "", 401},
		{"info read-only", "GET", "/v1/files/" + id, roKey, nil, "", 200},
		{"groups read-only", "GET", "/v1/groups", roKey, nil, "", 200},
		{"upload without key", "POST", "/v1/files", "", nil, "x", 401},
		{"upload read-only", "POST", "/v1/files", roKey, nil, "x", 403},
		{"upload x-api-key read-only", "POST", "/v1/files", "", map[string]string{"X-API-Key": roKey}, "x", 403},
		{"append read-only", "POST", "/v1/files/" + id + ":append", roKey, nil, "x", 403},
		{"delete read-only", "DELETE", "/v1/files/" + id, roKey, nil, "", 403},
		{"set metadata read-only", "POST", "/v1/files/" + id + ":setMetadata", roKey, nil, `{"mode":"SET_METADATA_MODE_MERGE","metadata":{"a":"b"}}`, 403},
		{"set metadata read-write", "POST", "/v1/files/" + id + ":setMetadata", rwKey, nil, `{"mode":"SET_METADATA_MODE_MERGE","metadata":{"a":"b"}}`, 200},
		{"upload read-write", "POST", "/v1/files", rwKey, nil, "x", 201},
		{"download url read-only", "POST", "/v1/files/" + id + ":createDownloadUrl", roKey, nil, "{}", 200},
		{"download url without key", "POST", "/v1/files/" + id + ":createDownloadUrl", "", nil, "{}", 401},
		{"truncate read-only", "POST", "/v1/files/" + id + ":truncate", roKey, nil, `{"size":"1"}`, 403},
		{"metrics are public", "GET", "/metrics", "", nil, "", 200},
		{"healthz is public", "GET", "/healthz", "", nil, "", 200},
		{"openapi is public", "GET", "/openapi.json", "", nil, "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = bytes.NewReader([]byte(tc.body))
			}
			resp, b := do(t, tc.method, e.url(tc.path), tc.key, body, tc.hdr)
			if resp.StatusCode != tc.code {
				t.Fatalf("%s, want %d: %s", resp.Status, tc.code, b)
			}
			switch tc.code {
			case 401:
				if resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				if tc.method != "HEAD" && decodeStatus(t, b).Code != int(codes.Unauthenticated) {
					t.Errorf("body %s", b)
				}
			case 403:
				if decodeStatus(t, b).Code != int(codes.PermissionDenied) {
					t.Errorf("body %s", b)
				}
			}
		})
	}
	// The refused calls changed nothing.
	if _, got := e.download(t, id, nil); string(got) != "secret content" {
		t.Errorf("content after refused writes: %q", got)
	}
}

func TestAuthGRPC(t *testing.T) {
	e := startEnv(t, nil)
	id := e.upload(t, "?ext=txt", []byte("grpc content"))
	files := e.files(t)

	for _, tc := range []struct {
		name string
		key  string
		call func(key string) error
		want codes.Code
	}{
		{"info without key", "", func(k string) error {
			_, err := files.GetFileInfo(withKey(opCtx(t), k), &fastdfsv1.GetFileInfoRequest{FileId: id})
			return err
		}, codes.Unauthenticated},
		{"info unknown key", "unknown-key-0123456789", func(k string) error {
			_, err := files.GetFileInfo(withKey(opCtx(t), k), &fastdfsv1.GetFileInfoRequest{FileId: id})
			return err
		}, codes.Unauthenticated},
		{"info read-only", roKey, func(k string) error {
			_, err := files.GetFileInfo(withKey(opCtx(t), k), &fastdfsv1.GetFileInfoRequest{FileId: id})
			return err
		}, codes.OK},
		{"download read-only", roKey, func(k string) error {
			_, err := grpcDownload(withKey(opCtx(t), k), files, id)
			return err
		}, codes.OK},
		{"download without key", "", func(k string) error {
			_, err := grpcDownload(withKey(opCtx(t), k), files, id)
			return err
		}, codes.Unauthenticated},
		{"upload without key", "", func(k string) error {
			_, err := grpcUpload(withKey(opCtx(t), k), files, []byte("x"))
			return err
		}, codes.Unauthenticated},
		{"upload read-only", roKey, func(k string) error {
			_, err := grpcUpload(withKey(opCtx(t), k), files, []byte("x"))
			return err
		}, codes.PermissionDenied},
		{"delete read-only", roKey, func(k string) error {
			_, err := files.DeleteFile(withKey(opCtx(t), k), &fastdfsv1.DeleteFileRequest{FileId: id})
			return err
		}, codes.PermissionDenied},
		{"delete storage read-only", roKey, func(k string) error {
			_, err := fastdfsv1.NewClusterServiceClient(e.grpcConn(t)).DeleteStorage(withKey(opCtx(t), k),
				&fastdfsv1.DeleteStorageRequest{Group: "group1", StorageId: e.c.Storages[0].ID})
			return err
		}, codes.PermissionDenied},
		{"list groups read-only", roKey, func(k string) error {
			_, err := fastdfsv1.NewClusterServiceClient(e.grpcConn(t)).ListGroups(withKey(opCtx(t), k), &fastdfsv1.ListGroupsRequest{})
			return err
		}, codes.OK},
		{"upload read-write", rwKey, func(k string) error {
			_, err := grpcUpload(withKey(opCtx(t), k), files, []byte("x"))
			return err
		}, codes.OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := status.Code(tc.call(tc.key)); got != tc.want {
				t.Fatalf("code %v, want %v", got, tc.want)
			}
		})
	}
	if got, err := grpcDownload(withKey(opCtx(t), roKey), files, id); err != nil || string(got) != "grpc content" {
		t.Fatalf("content after refused writes: %q, %v", got, err)
	}
}

func TestAuthDisabled(t *testing.T) {
	e := startEnv(t, func(c *configT) { c.AuthDisabled, c.APIKeys = true, nil })
	id := e.upload(t, "", []byte("open"))
	resp, b := do(t, "DELETE", e.url("/v1/files/"+id), "", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("delete without key, auth off: %s %s", resp.Status, b)
	}
	if _, err := grpcUpload(opCtx(t), e.files(t), []byte("x")); err != nil {
		t.Fatalf("grpc upload without key, auth off: %v", err)
	}
}
