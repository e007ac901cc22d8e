package gateway

import (
	"bytes"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/fdfsgo/fdfs/apiclient"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
)

// apiclient through the whole gateway (auth, limits, access log, metrics):
// a write key stores and reads, a read-only key reads but cannot store, no
// key is refused, and an upload over max_upload_size is refused after its
// first message; each as the gateway's gRPC status.
func TestAPIClientThroughGateway(t *testing.T) {
	e := startEnv(t, func(c *configT) { c.Limits.MaxUploadSize = 3 << 20 })
	conn, err := grpc.NewClient(e.gw.GRPCAddr(), append(apiclient.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	files := fastdfsv1.NewFileServiceClient(conn)

	content := bytes.Repeat([]byte("0123456789abcdef"), 160<<10) // 2.5 MiB: three chunks
	spec := func(n int) *fastdfsv1.UploadSpec { return &fastdfsv1.UploadSpec{Ext: "bin", Size: int64(n)} }
	resp, err := apiclient.Upload(withKey(opCtx(t), rwKey), files, spec(len(content)), bytes.NewReader(content))
	if err != nil {
		t.Fatalf("upload with the write key: %v", err)
	}
	id := resp.GetFileId()
	for _, key := range []string{rwKey, roKey} {
		var got bytes.Buffer
		if _, err := apiclient.Download(withKey(opCtx(t), key), files, &fastdfsv1.DownloadFileRequest{FileId: id}, &got); err != nil || !bytes.Equal(got.Bytes(), content) {
			t.Fatalf("download with key %.10s…: %d bytes, %v", key, got.Len(), err)
		}
	}
	// The same file over REST.
	if _, body := e.download(t, id, nil); !bytes.Equal(body, content) {
		t.Fatalf("REST download of an apiclient upload: %d bytes", len(body))
	}

	refused := []struct {
		name string
		err  func() error
		want codes.Code
	}{
		{"upload with the read-only key", func() error {
			_, err := apiclient.Upload(withKey(opCtx(t), roKey), files, spec(len(content)), bytes.NewReader(content))
			return err
		}, codes.PermissionDenied},
		{"upload without a key", func() error {
			_, err := apiclient.Upload(opCtx(t), files, spec(len(content)), bytes.NewReader(content))
			return err
		}, codes.Unauthenticated},
		{"download without a key", func() error {
			_, err := apiclient.Download(opCtx(t), files, &fastdfsv1.DownloadFileRequest{FileId: id}, &bytes.Buffer{})
			return err
		}, codes.Unauthenticated},
		{"upload over max_upload_size", func() error {
			big := make([]byte, 3<<20+1)
			_, err := apiclient.Upload(withKey(opCtx(t), rwKey), files, spec(len(big)), bytes.NewReader(big))
			return err
		}, codes.ResourceExhausted},
	}
	for _, tc := range refused {
		if err := tc.err(); status.Code(err) != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
