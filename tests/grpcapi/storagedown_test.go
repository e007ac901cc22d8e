package grpcapi

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/fileops"
	"github.com/fdfsgo/fdfs/server/grpcapi"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// TestStorageDownIsUnavailable stops the only storage of a file's group:
// the tracker then answers ENOENT to the file's fetch and update queries,
// as upstream, which must reach clients as UNAVAILABLE (try again), not as
// NOT_FOUND: a client retrying a delete would take the file for gone, and
// an upload session's writer for cancelled. The file is still there once
// the storage is back.
func TestStorageDownIsUnavailable(t *testing.T) {
	e := start(t, cluster.Options{Storages: 1}, nil)
	id := e.upload(t, &fastdfsv1.UploadSpec{Ext: "txt", Kind: fastdfsv1.FileKind_FILE_KIND_APPENDER}, []byte("still here"))
	e.c.StopStorage(0)
	ctx := opCtx(t)
	for name, call := range map[string]func() error{
		"GetFileInfo": func() error {
			_, err := e.files.GetFileInfo(ctx, &fastdfsv1.GetFileInfoRequest{FileId: id})
			return err
		},
		"DeleteFile": func() error {
			_, err := e.files.DeleteFile(ctx, &fastdfsv1.DeleteFileRequest{FileId: id})
			return err
		},
		"TruncateFile": func() error {
			_, err := e.files.TruncateFile(ctx, &fastdfsv1.TruncateFileRequest{FileId: id, Size: 1})
			return err
		},
	} {
		if err := call(); status.Code(err) != codes.Unavailable || fileops.Reason(err) != grpcapi.ReasonUnavailable {
			t.Errorf("%s with the storage down: %v (reason %q), want UNAVAILABLE %s", name, err, fileops.Reason(err), grpcapi.ReasonUnavailable)
		}
	}
	e.c.RestartStorage(0)
	if got, err := e.download(t, id, 0, 0); err != nil || string(got) != "still here" {
		t.Fatalf("after the restart: %q, %v", got, err)
	}
}
