package grpcapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/fileops"
	"github.com/fdfsgo/fdfs/server/fileops/fileopstest"
	"github.com/fdfsgo/fdfs/server/grpcapi"
)

// tracker is the rest of grpcapi.Engine; FileService's tests leave it nil
// (no call reaches it).
type tracker interface {
	QueryFetch(ctx context.Context, fileID string) (*client.Server, error)
	QueryFetchAll(ctx context.Context, fileID string) ([]client.Server, error)
	QueryUpdate(ctx context.Context, fileID string) (*client.Server, error)
	QueryStoreAll(ctx context.Context, group string) ([]client.Server, error)
	ListGroups(ctx context.Context) ([]protocol.GroupStat, error)
	ListStorages(ctx context.Context, group, storageID string) ([]protocol.StorageStat, error)
	DeleteStorage(ctx context.Context, group, storageID string) error
}

type engine struct {
	*fileopstest.Engine
	tracker
}

// serve runs the services over eng on an in-memory connection, with the
// gateway's codec.
func serve(t *testing.T, eng *fileopstest.Engine) fastdfsv1.FileServiceClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.ForceServerCodecV2(grpcapi.Codec()))
	grpcapi.Register(srv, grpcapi.Options{Client: engine{Engine: eng}, HTTPBaseURL: "https://cdn.example"})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///fake",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return fastdfsv1.NewFileServiceClient(conn)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// upload sends spec and then chunks.
func upload(t *testing.T, fs fastdfsv1.FileServiceClient, spec *fastdfsv1.UploadSpec, chunks ...[]byte) (*fastdfsv1.UploadFileResponse, error) {
	t.Helper()
	st, err := fs.UploadFile(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	msgs := []*fastdfsv1.UploadFileRequest{{Data: &fastdfsv1.UploadFileRequest_Spec{Spec: spec}}}
	for _, c := range chunks {
		msgs = append(msgs, &fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Chunk{Chunk: c}})
	}
	for _, m := range msgs {
		if err := st.Send(m); err != nil {
			break // the server answered early; CloseAndRecv says how
		}
	}
	return st.CloseAndRecv()
}

// apiError is what a client sees of an error.
type apiError struct {
	code   codes.Code
	reason string
	fileID string
}

func apiErrorOf(err error) apiError {
	st := status.Convert(err)
	e := apiError{code: st.Code()}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			e.reason, e.fileID = info.GetReason(), info.GetMetadata()["file_id"]
		}
	}
	return e
}

func TestUploadFile(t *testing.T) {
	meta := map[string]string{"a": "1"}
	tests := []struct {
		name string
		spec *fastdfsv1.UploadSpec
		kind fastdfsv1.FileKind
	}{
		{"unspecified", &fastdfsv1.UploadSpec{Ext: "txt"}, fastdfsv1.FileKind_FILE_KIND_NORMAL},
		{"normal with metadata", &fastdfsv1.UploadSpec{Kind: fastdfsv1.FileKind_FILE_KIND_NORMAL, Metadata: meta}, fastdfsv1.FileKind_FILE_KIND_NORMAL},
		{"appender in a group", &fastdfsv1.UploadSpec{Kind: fastdfsv1.FileKind_FILE_KIND_APPENDER, Group: "group2"}, fastdfsv1.FileKind_FILE_KIND_APPENDER},
		{"slave", &fastdfsv1.UploadSpec{Kind: fastdfsv1.FileKind_FILE_KIND_SLAVE, Prefix: "_t"}, fastdfsv1.FileKind_FILE_KIND_SLAVE},
		{"slave with metadata", &fastdfsv1.UploadSpec{Kind: fastdfsv1.FileKind_FILE_KIND_SLAVE, Prefix: "_m", Ext: "png", Metadata: meta}, fastdfsv1.FileKind_FILE_KIND_SLAVE},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := fileopstest.New()
			fs := serve(t, eng)
			master := eng.Put(fileops.Normal, "jpg", []byte("master"), nil)
			if tc.kind == fastdfsv1.FileKind_FILE_KIND_SLAVE {
				tc.spec.MasterFileId = master
			}
			data := []byte("chunked content")
			tc.spec.Size = int64(len(data))
			resp, err := upload(t, fs, tc.spec, data[:5], data[5:])
			if err != nil {
				t.Fatal(err)
			}
			id := resp.GetFileId()
			if resp.GetSize() != int64(len(data)) {
				t.Errorf("size %d", resp.GetSize())
			}
			info, err := fs.GetFileInfo(ctxT(t), &fastdfsv1.GetFileInfoRequest{FileId: id})
			if err != nil || info.GetFile().GetKind() != tc.kind || info.GetFile().GetSize() != int64(len(data)) {
				t.Fatalf("info %v, %v; want kind %v", info, err, tc.kind)
			}
			md, err := fs.GetMetadata(ctxT(t), &fastdfsv1.GetMetadataRequest{FileId: id})
			if err != nil || !maps.Equal(md.GetMetadata(), tc.spec.GetMetadata()) {
				t.Fatalf("metadata %v, %v; want %v", md.GetMetadata(), err, tc.spec.GetMetadata())
			}
			if got := download(t, fs, id); !bytes.Equal(got, data) {
				t.Fatalf("downloaded %q", got)
			}
		})
	}
}

func download(t *testing.T, fs fastdfsv1.FileServiceClient, id string) []byte {
	t.Helper()
	st, err := fs.DownloadFile(ctxT(t), &fastdfsv1.DownloadFileRequest{FileId: id})
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("download %s: %v", id, err)
		}
		out = append(out, m.GetChunk()...)
	}
}

// TestUploadFileErrors: error mapping and the cleanup of failed uploads.
func TestUploadFileErrors(t *testing.T) {
	tests := []struct {
		name   string
		spec   func(master string) *fastdfsv1.UploadSpec
		chunks [][]byte
		fail   func(op, id string) error
		want   apiError // fileID "<master>" is the master's
		left   int      // files left, the master included
	}{
		{name: "missing master",
			spec: func(m string) *fastdfsv1.UploadSpec {
				return &fastdfsv1.UploadSpec{Kind: fastdfsv1.FileKind_FILE_KIND_SLAVE, MasterFileId: m[:len(m)-4] + ".png", Prefix: "_x", Size: 3}
			},
			chunks: [][]byte{[]byte("abc")}, want: apiError{codes.NotFound, grpcapi.ReasonFileNotFound, "<other>"}, left: 1},
		{name: "slave metadata fails",
			spec: func(m string) *fastdfsv1.UploadSpec {
				return &fastdfsv1.UploadSpec{Kind: fastdfsv1.FileKind_FILE_KIND_SLAVE, MasterFileId: m, Prefix: "_x", Size: 3, Metadata: map[string]string{"k": "v"}}
			},
			chunks: [][]byte{[]byte("abc")}, fail: failOn(fileopstest.OpSetMetadata, protocol.ErrNoSpace),
			want: apiError{codes.ResourceExhausted, "NO_SPACE", "<master>"}, left: 1},
		{name: "more content than announced",
			spec:   func(string) *fastdfsv1.UploadSpec { return &fastdfsv1.UploadSpec{Size: 3} },
			chunks: [][]byte{[]byte("abc"), []byte("d")}, want: apiError{codes.InvalidArgument, "INVALID_ARGUMENT", ""}, left: 1},
		{name: "slave, more content than announced",
			spec: func(m string) *fastdfsv1.UploadSpec {
				return &fastdfsv1.UploadSpec{Kind: fastdfsv1.FileKind_FILE_KIND_SLAVE, MasterFileId: m, Prefix: "_x", Size: 3}
			},
			chunks: [][]byte{[]byte("abc"), []byte("d")}, want: apiError{codes.InvalidArgument, "INVALID_ARGUMENT", ""}, left: 1},
		{name: "stream ends early",
			spec: func(m string) *fastdfsv1.UploadSpec {
				return &fastdfsv1.UploadSpec{Kind: fastdfsv1.FileKind_FILE_KIND_SLAVE, MasterFileId: m, Prefix: "_x", Size: 10}
			},
			chunks: [][]byte{[]byte("abc")}, want: apiError{codes.InvalidArgument, "INVALID_ARGUMENT", "<master>"}, left: 1},
		{name: "no storage",
			spec:   func(string) *fastdfsv1.UploadSpec { return &fastdfsv1.UploadSpec{Size: 1} },
			chunks: [][]byte{[]byte("a")}, fail: failOn(fileopstest.OpUpload, fmt.Errorf("%w: %w", client.ErrNoStorage, protocol.ErrNotFound)),
			want: apiError{codes.Unavailable, grpcapi.ReasonNoStorage, ""}, left: 1},
		{name: "slave without prefix",
			spec: func(m string) *fastdfsv1.UploadSpec {
				return &fastdfsv1.UploadSpec{Kind: fastdfsv1.FileKind_FILE_KIND_SLAVE, MasterFileId: m, Size: 1}
			},
			chunks: [][]byte{[]byte("a")}, want: apiError{codes.InvalidArgument, "INVALID_ARGUMENT", "<master>"}, left: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng := fileopstest.New()
			fs := serve(t, eng)
			master := eng.Put(fileops.Normal, "jpg", []byte("master"), nil)
			eng.Fail = tc.fail
			spec := tc.spec(master)
			_, err := upload(t, fs, spec, tc.chunks...)
			want := tc.want
			switch want.fileID {
			case "<master>":
				want.fileID = master
			case "<other>":
				want.fileID = spec.GetMasterFileId()
			}
			if got := apiErrorOf(err); got != want {
				t.Fatalf("error %+v, want %+v (%v)", got, want, err)
			}
			if ids := eng.IDs(); len(ids) != tc.left {
				t.Fatalf("files left %q, want %d", ids, tc.left)
			}
		})
	}
}

func failOn(op string, err error) func(string, string) error {
	return func(o, _ string) error {
		if o == op {
			return err
		}
		return nil
	}
}

func TestFileCalls(t *testing.T) {
	eng := fileopstest.New()
	fs := serve(t, eng)
	ctx := ctxT(t)
	empty := eng.Put(fileops.Normal, "", nil, nil)
	app := eng.Put(fileops.Appender, "log", []byte("abc"), nil)
	missing := "group1/M00/00/00/" + empty[len("group1/M00/00/00/"):len(empty)-1] + "x"
	if missing == empty {
		t.Fatal("missing is empty")
	}

	// An empty file downloads as no bytes; a file without metadata has
	// empty metadata.
	if got := download(t, fs, empty); len(got) != 0 {
		t.Errorf("empty file: %q", got)
	}
	if md, err := fs.GetMetadata(ctx, &fastdfsv1.GetMetadataRequest{FileId: empty}); err != nil || len(md.GetMetadata()) != 0 {
		t.Errorf("metadata %v, %v", md, err)
	}

	// Append: the announced bytes go in even when more follow, which is
	// refused.
	st, err := fs.AppendFile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Send(&fastdfsv1.AppendFileRequest{Data: &fastdfsv1.AppendFileRequest_Spec{Spec: &fastdfsv1.AppendSpec{FileId: app, Size: 2}}})
	st.Send(&fastdfsv1.AppendFileRequest{Data: &fastdfsv1.AppendFileRequest_Chunk{Chunk: []byte("de")}})
	st.Send(&fastdfsv1.AppendFileRequest{Data: &fastdfsv1.AppendFileRequest_Chunk{Chunk: []byte("f")}})
	if _, err := st.CloseAndRecv(); apiErrorOf(err) != (apiError{codes.InvalidArgument, "INVALID_ARGUMENT", app}) {
		t.Errorf("append with trailing content: %v", err)
	}
	if got := download(t, fs, app); string(got) != "abcde" {
		t.Errorf("appender holds %q", got)
	}

	for _, tc := range []struct {
		name string
		call func() error
		want apiError
	}{
		{"delete missing", func() error {
			_, err := fs.DeleteFile(ctx, &fastdfsv1.DeleteFileRequest{FileId: missing})
			return err
		}, apiError{codes.NotFound, grpcapi.ReasonFileNotFound, missing}},
		{"metadata of missing", func() error {
			_, err := fs.GetMetadata(ctx, &fastdfsv1.GetMetadataRequest{FileId: missing})
			return err
		}, apiError{codes.NotFound, grpcapi.ReasonFileNotFound, missing}},
		{"truncate a normal file", func() error {
			_, err := fs.TruncateFile(ctx, &fastdfsv1.TruncateFileRequest{FileId: empty})
			return err
		}, apiError{codes.FailedPrecondition, fileops.ReasonNotAppender, empty}},
		{"download url of missing", func() error {
			_, err := fs.CreateDownloadUrl(ctx, &fastdfsv1.CreateDownloadUrlRequest{FileId: missing})
			return err
		}, apiError{codes.NotFound, grpcapi.ReasonFileNotFound, missing}},
		{"regenerate", func() error {
			r, err := fs.RegenerateAppenderFile(ctx, &fastdfsv1.RegenerateAppenderFileRequest{FileId: app})
			if err == nil && len(eng.IDs()) != 2 {
				err = fmt.Errorf("files %q after regenerating %s as %s", eng.IDs(), app, r.GetFileId())
			}
			return err
		}, apiError{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := apiErrorOf(tc.call()); got != tc.want {
				t.Fatalf("error %+v, want %+v", got, tc.want)
			}
		})
	}
}
