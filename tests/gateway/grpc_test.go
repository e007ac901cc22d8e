package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/internal/syncbuf"
	"github.com/fdfsgo/fdfs/server/config"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

type configT = config.Config

// grpcUpload stores content through FileService.UploadFile in 2 MiB chunks.
func grpcUpload(ctx context.Context, files fastdfsv1.FileServiceClient, content []byte, opts ...grpc.CallOption) (string, error) {
	st, err := files.UploadFile(ctx, opts...)
	if err != nil {
		return "", err
	}
	if err := st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Spec{Spec: &fastdfsv1.UploadSpec{Size: int64(len(content)), Ext: "bin"}}}); err != nil && err != io.EOF {
		return "", err
	}
	for len(content) > 0 {
		n := min(len(content), 2<<20)
		if err := st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Chunk{Chunk: content[:n]}}); err != nil {
			break // the server ended the call; CloseAndRecv says why
		}
		content = content[n:]
	}
	resp, err := st.CloseAndRecv()
	if err != nil {
		return "", err
	}
	return resp.GetFileId(), nil
}

func grpcDownload(ctx context.Context, files fastdfsv1.FileServiceClient, id string) ([]byte, error) {
	st, err := files.DownloadFile(ctx, &fastdfsv1.DownloadFileRequest{FileId: id})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for {
		m, err := st.Recv()
		if err == io.EOF {
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
		buf.Write(m.GetChunk())
	}
}

func TestGRPC(t *testing.T) {
	e := startEnv(t, func(c *configT) { c.Limits.MaxUploadSize = 3 << 20 })
	files := e.files(t)
	ctx := withKey(opCtx(t), rwKey)

	content := bytes.Repeat([]byte("abcdefgh"), 300<<10) // 2.4 MiB: two chunks
	var hdr metadata.MD
	id, err := grpcUpload(metadata.AppendToOutgoingContext(ctx, "x-request-id", "test-req-1"), files, content, grpc.Header(&hdr))
	if err != nil {
		t.Fatal(err)
	}
	if got := hdr.Get("x-request-id"); len(got) != 1 || got[0] != "test-req-1" {
		t.Errorf("x-request-id header %v, want the client's", got)
	}
	got, err := grpcDownload(ctx, files, id)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("download: %d bytes, %v", len(got), err)
	}
	// The same file over REST.
	if _, body := e.download(t, id, nil); !bytes.Equal(body, content) {
		t.Fatalf("REST download of a gRPC upload: %d bytes", len(body))
	}

	_, err = grpcUpload(ctx, files, make([]byte, 3<<20+1))
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("upload over the limit: %v, want ResourceExhausted", err)
	}
	_, err = files.GetFileInfo(ctx, &fastdfsv1.GetFileInfoRequest{FileId: "group1/bad"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("bad file id: %v, want InvalidArgument", err)
	}
}

func TestHealthAndReflection(t *testing.T) {
	e := startEnv(t, nil)
	conn := e.grpcConn(t)

	// Health needs no key.
	for _, svc := range []string{"", "fastdfs.v1.FileService", "fastdfs.v1.ClusterService"} {
		resp, err := healthpb.NewHealthClient(conn).Check(opCtx(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health %q: %v, %v", svc, resp.GetStatus(), err)
		}
	}

	listServices := func(key string) ([]string, error) {
		st, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(withKey(opCtx(t), key))
		if err != nil {
			return nil, err
		}
		// io.EOF means the server ended the call already; Recv says why.
		if err := st.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil && err != io.EOF {
			return nil, err
		}
		resp, err := st.Recv()
		if err != nil {
			return nil, err
		}
		st.CloseSend()
		var names []string
		for _, s := range resp.GetListServicesResponse().GetService() {
			names = append(names, s.GetName())
		}
		return names, nil
	}
	if _, err := listServices(""); status.Code(err) != codes.Unauthenticated {
		t.Errorf("reflection without key: %v", err)
	}
	names, err := listServices(roKey)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(names, " ")
	for _, want := range []string{"fastdfs.v1.FileService", "fastdfs.v1.ClusterService", "grpc.health.v1.Health"} {
		if !strings.Contains(joined, want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}
}

// TestHealthFollowsCluster stops the tracker and checks that the health
// of the services and the overall health ("", /healthz) turn NOT_SERVING,
// that the gateway logs the change once, and that all is SERVING again
// once the tracker is back.
func TestHealthFollowsCluster(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 1})
	logs := &syncbuf.Buffer{}
	gw := startGatewayLog(t, c, func(c *configT) { c.HealthInterval = 20 * time.Millisecond }, slog.New(slog.NewTextHandler(logs, nil)))
	e := &env{c: c, gw: gw}
	hc := healthpb.NewHealthClient(e.grpcConn(t))
	healthz := func() int {
		resp, err := httpClient.Get(e.url("/healthz"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor := func(svc string, want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := hc.Check(opCtx(t), &healthpb.HealthCheckRequest{Service: svc})
			if err == nil && resp.GetStatus() == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("health of %q: %v, %v; want %v", svc, resp.GetStatus(), err, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("fastdfs.v1.FileService", healthpb.HealthCheckResponse_SERVING)
	waitFor("", healthpb.HealthCheckResponse_SERVING)
	if code := healthz(); code != 200 {
		t.Fatalf("/healthz with a tracker: %d", code)
	}
	e.c.StopTracker()
	waitFor("fastdfs.v1.FileService", healthpb.HealthCheckResponse_NOT_SERVING)
	waitFor("fastdfs.v1.ClusterService", healthpb.HealthCheckResponse_NOT_SERVING)
	waitFor("", healthpb.HealthCheckResponse_NOT_SERVING)
	if code := healthz(); code != 503 {
		t.Fatalf("/healthz without a tracker: %d", code)
	}
	time.Sleep(200 * time.Millisecond) // several more probes
	if n := strings.Count(logs.String(), "no tracker answers"); n != 1 {
		t.Fatalf("the change to NOT_SERVING was logged %d times:\n%s", n, logs.String())
	}
	e.c.RestartTracker()
	waitFor("fastdfs.v1.FileService", healthpb.HealthCheckResponse_SERVING)
	waitFor("", healthpb.HealthCheckResponse_SERVING)
	if code := healthz(); code != 200 {
		t.Fatalf("/healthz with the tracker back: %d", code)
	}
	if n := strings.Count(logs.String(), "a tracker answers"); n != 2 {
		t.Fatalf("the changes to SERVING were logged %d times, want 2:\n%s", n, logs.String())
	}
}
