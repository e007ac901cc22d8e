package grpcapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/grpcapi"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// opTimeout bounds one RPC of a test (not a speed assertion: it only turns a
// hang into a failure).
const opTimeout = 2 * time.Minute

func opCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	t.Cleanup(cancel)
	return ctx
}

// env is a cluster fronted by the gRPC services.
type env struct {
	c       *cluster.Cluster
	addr    string // the gRPC server's address
	files   fastdfsv1.FileServiceClient
	cluster fastdfsv1.ClusterServiceClient
}

// start runs a cluster and a gRPC server on a loopback port in front of it,
// with the gateway's codec; tweak may adjust the service options.
func start(t *testing.T, copts cluster.Options, tweak func(*cluster.Cluster, *grpcapi.Options)) *env {
	t.Helper()
	return startServer(t, copts, tweak, grpc.ForceServerCodecV2(grpcapi.Codec()))
}

// startServer is start with the given server options.
func startServer(t *testing.T, copts cluster.Options, tweak func(*cluster.Cluster, *grpcapi.Options), sopts ...grpc.ServerOption) *env {
	t.Helper()
	c := cluster.Start(t, copts)
	opts := grpcapi.Options{Client: c.Client}
	if tweak != nil {
		tweak(c, &opts)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(sopts...)
	grpcapi.Register(srv, opts)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-done; err != nil {
			t.Errorf("grpc serve: %v", err)
		}
	})
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &env{c: c, addr: lis.Addr().String(), files: fastdfsv1.NewFileServiceClient(conn), cluster: fastdfsv1.NewClusterServiceClient(conn)}
}

// chunks splits b into messages of at most n bytes.
func chunks(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		m := min(n, len(b))
		out = append(out, b[:m])
		b = b[m:]
	}
	return out
}

// uploadRaw sends spec and then the given chunks as they are.
func (e *env) uploadRaw(t testing.TB, spec *fastdfsv1.UploadSpec, parts [][]byte) (*fastdfsv1.UploadFileResponse, error) {
	t.Helper()
	st, err := e.files.UploadFile(opCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Spec{Spec: spec}}); err != nil {
		return nil, closeAndRecvErr(st, err)
	}
	for _, p := range parts {
		if err := st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Chunk{Chunk: p}}); err != nil {
			return nil, closeAndRecvErr(st, err)
		}
	}
	return st.CloseAndRecv()
}

// closeAndRecvErr returns the server's status after a Send failed: Send
// reports io.EOF when the server already ended the call.
func closeAndRecvErr[Req, Resp any](st grpc.ClientStreamingClient[Req, Resp], sendErr error) error {
	if !errors.Is(sendErr, io.EOF) {
		return sendErr
	}
	_, err := st.CloseAndRecv()
	return err
}

// upload stores data in 256 KiB chunks and returns the file ID.
func (e *env) upload(t testing.TB, spec *fastdfsv1.UploadSpec, data []byte) string {
	t.Helper()
	spec.Size = int64(len(data))
	resp, err := e.uploadRaw(t, spec, chunks(data, 256<<10))
	if err != nil {
		t.Fatalf("upload %d bytes: %v", len(data), err)
	}
	if resp.GetSize() != int64(len(data)) {
		t.Fatalf("upload: size %d, want %d", resp.GetSize(), len(data))
	}
	return resp.GetFileId()
}

// download returns the bytes of a DownloadFile call.
func (e *env) download(t testing.TB, id string, offset, length int64) ([]byte, error) {
	t.Helper()
	st, err := e.files.DownloadFile(opCtx(t), &fastdfsv1.DownloadFileRequest{FileId: id, Offset: offset, Length: length})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for {
		m, err := st.Recv()
		if err == io.EOF {
			return buf.Bytes(), nil
		}
		if err != nil {
			return buf.Bytes(), err
		}
		if len(m.GetChunk()) > grpcapi.MaxChunkSize {
			t.Fatalf("download chunk of %d bytes", len(m.GetChunk()))
		}
		buf.Write(m.GetChunk())
	}
}

func (e *env) wantContent(t testing.TB, id string, want []byte) {
	t.Helper()
	got, err := e.download(t, id, 0, 0)
	if err != nil {
		t.Fatalf("download %s: %v", id, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("content of %s: %d bytes %.40q, want %d bytes %.40q", id, len(got), got, len(want), want)
	}
}

// wantStatus checks err's gRPC code and, when reason is set, its ErrorInfo
// (domain fastdfs.v1, reason, and metadata file_id when fileID is set).
func wantStatus(t testing.TB, err error, code codes.Code, reason, fileID string) *errdetails.ErrorInfo {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code {
		t.Fatalf("error %v, want code %v", err, code)
	}
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			info = ei
		}
	}
	if reason == "" {
		return info
	}
	if info == nil {
		t.Fatalf("error %v has no ErrorInfo", err)
	}
	if info.GetDomain() != grpcapi.ErrorDomain || info.GetReason() != reason {
		t.Fatalf("ErrorInfo %v, want domain %s reason %s", info, grpcapi.ErrorDomain, reason)
	}
	if fileID != "" && info.GetMetadata()["file_id"] != fileID {
		t.Fatalf("ErrorInfo metadata %v, want file_id %s", info.GetMetadata(), fileID)
	}
	// Validation names the field it refuses (a google.rpc.BadRequest),
	// except for messages that do not decode at all.
	if (code == codes.InvalidArgument || code == codes.OutOfRange) && !strings.Contains(st.Message(), "malformed request") {
		if f := violatedFields(st); len(f) == 0 || f[0] == "" {
			t.Fatalf("error %v has no field violation", err)
		}
	}
	return info
}

// violatedFields returns the fields of st's google.rpc.BadRequest.
func violatedFields(st *status.Status) []string {
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

// storedFiles lists the files in storage 0's first store path (paths
// relative to its data dir).
func storedFiles(t testing.TB, e *env) []string {
	t.Helper()
	var stored []string
	data := filepath.Join(e.c.Storages[0].StorePaths[0], "data")
	err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(data, path)
		if d.Type().IsRegular() && strings.Count(rel, string(filepath.Separator)) == 2 {
			stored = append(stored, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return stored
}
