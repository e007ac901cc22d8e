package grpcapi

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/grpcapi"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

func TestBadInput(t *testing.T) {
	t.Parallel()
	e := start(t, cluster.Options{Storages: 1}, nil)
	content := randomBytes(1000)
	id := e.upload(t, &fastdfsv1.UploadSpec{Ext: "txt"}, content)
	appender := e.upload(t, &fastdfsv1.UploadSpec{Kind: fastdfsv1.FileKind_FILE_KIND_APPENDER}, content)
	gone := e.upload(t, &fastdfsv1.UploadSpec{}, content)
	goneAppender := e.upload(t, &fastdfsv1.UploadSpec{Kind: fastdfsv1.FileKind_FILE_KIND_APPENDER}, content)
	for _, g := range []string{gone, goneAppender} {
		if _, err := e.files.DeleteFile(opCtx(t), &fastdfsv1.DeleteFileRequest{FileId: g}); err != nil {
			t.Fatal(err)
		}
	}
	const (
		badID      = "group1/M00/00/00/../../../etc/passwd"
		invalidArg = "INVALID_ARGUMENT"
	)
	ctx := opCtx(t)

	tests := []struct {
		name   string
		call   func() error
		code   codes.Code
		reason string
		fileID string
	}{
		{"info of a deleted file", func() error {
			_, err := e.files.GetFileInfo(ctx, &fastdfsv1.GetFileInfoRequest{FileId: gone})
			return err
		}, codes.NotFound, grpcapi.ReasonFileNotFound, gone},
		{"metadata of a deleted file", func() error {
			_, err := e.files.GetMetadata(ctx, &fastdfsv1.GetMetadataRequest{FileId: gone})
			return err
		}, codes.NotFound, grpcapi.ReasonFileNotFound, gone},
		{"download url of a deleted file", func() error {
			_, err := e.files.CreateDownloadUrl(ctx, &fastdfsv1.CreateDownloadUrlRequest{FileId: gone})
			return err
		}, codes.NotFound, grpcapi.ReasonFileNotFound, gone},
		{"info of a traversal id", func() error {
			_, err := e.files.GetFileInfo(ctx, &fastdfsv1.GetFileInfoRequest{FileId: badID})
			return err
		}, codes.InvalidArgument, invalidArg, badID},
		{"empty id", func() error {
			_, err := e.files.DeleteFile(ctx, &fastdfsv1.DeleteFileRequest{})
			return err
		}, codes.InvalidArgument, invalidArg, ""},
		{"id without group", func() error {
			_, err := e.files.DeleteFile(ctx, &fastdfsv1.DeleteFileRequest{FileId: "M00/00/00/abc"})
			return err
		}, codes.InvalidArgument, invalidArg, "M00/00/00/abc"},
		{"unknown group", func() error {
			other := "group9" + strings.TrimPrefix(id, "group1")
			_, err := e.files.GetFileInfo(ctx, &fastdfsv1.GetFileInfoRequest{FileId: other})
			return err
		}, codes.NotFound, grpcapi.ReasonFileNotFound, ""},
		{"negative download offset", func() error {
			_, err := e.download(t, id, -1, 0)
			return err
		}, codes.InvalidArgument, invalidArg, id},
		{"negative download length", func() error {
			_, err := e.download(t, id, 0, -5)
			return err
		}, codes.InvalidArgument, invalidArg, id},
		{"download offset past the end", func() error {
			_, err := e.download(t, id, 5000, 0)
			return err
		}, codes.OutOfRange, grpcapi.ReasonOutOfRange, id},
		{"negative truncate", func() error {
			_, err := e.files.TruncateFile(ctx, &fastdfsv1.TruncateFileRequest{FileId: appender, Size: -1})
			return err
		}, codes.InvalidArgument, invalidArg, appender},
		{"metadata mode missing", func() error {
			_, err := e.files.SetMetadata(ctx, &fastdfsv1.SetMetadataRequest{FileId: id, Metadata: map[string]string{"a": "b"}})
			return err
		}, codes.InvalidArgument, invalidArg, id},
		{"oversize chunk", func() error {
			_, err := e.uploadRaw(t, &fastdfsv1.UploadSpec{Size: grpcapi.MaxChunkSize + 1}, [][]byte{make([]byte, grpcapi.MaxChunkSize+1)})
			return err
		}, codes.InvalidArgument, invalidArg, ""},
		{"fewer bytes than announced", func() error {
			_, err := e.uploadRaw(t, &fastdfsv1.UploadSpec{Size: 100}, [][]byte{make([]byte, 60)})
			return err
		}, codes.InvalidArgument, invalidArg, ""},
		{"more bytes than announced in one chunk", func() error {
			_, err := e.uploadRaw(t, &fastdfsv1.UploadSpec{Size: 100}, [][]byte{make([]byte, 150)})
			return err
		}, codes.InvalidArgument, invalidArg, ""},
		{"more bytes than announced after the end", func() error {
			_, err := e.uploadRaw(t, &fastdfsv1.UploadSpec{Size: 100}, [][]byte{make([]byte, 100), []byte("x")})
			return err
		}, codes.InvalidArgument, invalidArg, ""},
		{"no spec", func() error {
			st, err := e.files.UploadFile(ctx)
			if err != nil {
				return err
			}
			if err := st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Chunk{Chunk: []byte("x")}}); err != nil {
				return closeAndRecvErr(st, err)
			}
			_, err = st.CloseAndRecv()
			return err
		}, codes.InvalidArgument, invalidArg, ""},
		{"negative size", func() error {
			_, err := e.uploadRaw(t, &fastdfsv1.UploadSpec{Size: -1}, nil)
			return err
		}, codes.InvalidArgument, invalidArg, ""},
		{"bad ext", func() error {
			_, err := e.uploadRaw(t, &fastdfsv1.UploadSpec{Ext: "../x", Size: 1}, [][]byte{{1}})
			return err
		}, codes.InvalidArgument, invalidArg, ""},
		{"bad group", func() error {
			_, err := e.uploadRaw(t, &fastdfsv1.UploadSpec{Group: "group-1", Size: 1}, [][]byte{{1}})
			return err
		}, codes.InvalidArgument, invalidArg, ""},
		{"slave without master", func() error {
			_, err := e.uploadRaw(t, &fastdfsv1.UploadSpec{Kind: fastdfsv1.FileKind_FILE_KIND_SLAVE, Prefix: "_s", Size: 1}, [][]byte{{1}})
			return err
		}, codes.InvalidArgument, invalidArg, ""},
		{"prefix on a normal file", func() error {
			_, err := e.uploadRaw(t, &fastdfsv1.UploadSpec{Prefix: "_s", Size: 1}, [][]byte{{1}})
			return err
		}, codes.InvalidArgument, invalidArg, ""},
		{"append to a normal file", func() error {
			st, err := e.files.AppendFile(ctx)
			if err != nil {
				return err
			}
			if err := st.Send(&fastdfsv1.AppendFileRequest{Data: &fastdfsv1.AppendFileRequest_Spec{Spec: &fastdfsv1.AppendSpec{FileId: id, Size: 1}}}); err != nil {
				return closeAndRecvErr(st, err)
			}
			if err := st.Send(&fastdfsv1.AppendFileRequest{Data: &fastdfsv1.AppendFileRequest_Chunk{Chunk: []byte("x")}}); err != nil {
				return closeAndRecvErr(st, err)
			}
			_, err = st.CloseAndRecv()
			return err
		}, codes.FailedPrecondition, grpcapi.ReasonNotAppender, id},
		{"append to a deleted file", func() error {
			st, err := e.files.AppendFile(ctx)
			if err != nil {
				return err
			}
			if err := st.Send(&fastdfsv1.AppendFileRequest{Data: &fastdfsv1.AppendFileRequest_Spec{Spec: &fastdfsv1.AppendSpec{FileId: goneAppender, Size: 1}}}); err != nil {
				return closeAndRecvErr(st, err)
			}
			if err := st.Send(&fastdfsv1.AppendFileRequest{Data: &fastdfsv1.AppendFileRequest_Chunk{Chunk: []byte("x")}}); err != nil {
				return closeAndRecvErr(st, err)
			}
			_, err = st.CloseAndRecv()
			return err
		}, codes.NotFound, grpcapi.ReasonFileNotFound, goneAppender},
		{"negative modify offset", func() error {
			st, err := e.files.ModifyFile(ctx)
			if err != nil {
				return err
			}
			if err := st.Send(&fastdfsv1.ModifyFileRequest{Data: &fastdfsv1.ModifyFileRequest_Spec{Spec: &fastdfsv1.ModifySpec{FileId: appender, Offset: -1, Size: 0}}}); err != nil {
				return closeAndRecvErr(st, err)
			}
			_, err = st.CloseAndRecv()
			return err
		}, codes.InvalidArgument, invalidArg, appender},
		{"regenerate a normal file", func() error {
			_, err := e.files.RegenerateAppenderFile(ctx, &fastdfsv1.RegenerateAppenderFileRequest{FileId: id})
			return err
		}, codes.FailedPrecondition, grpcapi.ReasonNotAppender, id},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, tc.call(), tc.code, tc.reason, tc.fileID)
		})
	}

	// The good files are intact and none of the rejected uploads left a
	// file behind (the one that was stored before the excess byte arrived
	// was deleted again).
	e.wantContent(t, id, content)
	e.wantContent(t, appender, content)
	stored := storedFiles(t, e)
	if len(stored) != 2 {
		t.Fatalf("files in the store path: %v, want only %s and %s", stored, id, appender)
	}
}
