package apiclient

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
)

// flaky answers UNAVAILABLE to the first failures calls of each method,
// then succeeds, counting the calls.
type flaky struct {
	fastdfsv1.UnimplementedFileServiceServer
	failures int32
	info     atomic.Int32
	regen    atomic.Int32
}

func (f *flaky) GetFileInfo(context.Context, *fastdfsv1.GetFileInfoRequest) (*fastdfsv1.GetFileInfoResponse, error) {
	if f.info.Add(1) <= f.failures {
		return nil, status.Error(codes.Unavailable, "storage unavailable")
	}
	return &fastdfsv1.GetFileInfoResponse{File: &fastdfsv1.FileInfo{}}, nil
}

func (f *flaky) RegenerateAppenderFile(context.Context, *fastdfsv1.RegenerateAppenderFileRequest) (*fastdfsv1.RegenerateAppenderFileResponse, error) {
	if f.regen.Add(1) <= f.failures {
		return nil, status.Error(codes.Unavailable, "storage unavailable")
	}
	return &fastdfsv1.RegenerateAppenderFileResponse{}, nil
}

// DialOptions retries what is safe to repeat and nothing else.
func TestServiceConfigRetries(t *testing.T) {
	tests := []struct {
		name     string
		failures int32
		call     func(context.Context, fastdfsv1.FileServiceClient) error
		calls    func(*flaky) int32
		wantCode codes.Code
		want     int32 // calls the server saw
	}{
		{"GetFileInfo retried until it succeeds", 2, func(ctx context.Context, c fastdfsv1.FileServiceClient) error {
			_, err := c.GetFileInfo(ctx, &fastdfsv1.GetFileInfoRequest{FileId: "group1/M00/00/00/x"})
			return err
		}, func(f *flaky) int32 { return f.info.Load() }, codes.OK, 3},
		{"GetFileInfo gives up after 4 attempts", 10, func(ctx context.Context, c fastdfsv1.FileServiceClient) error {
			_, err := c.GetFileInfo(ctx, &fastdfsv1.GetFileInfoRequest{FileId: "group1/M00/00/00/x"})
			return err
		}, func(f *flaky) int32 { return f.info.Load() }, codes.Unavailable, 4},
		{"RegenerateAppenderFile not retried", 2, func(ctx context.Context, c fastdfsv1.FileServiceClient) error {
			_, err := c.RegenerateAppenderFile(ctx, &fastdfsv1.RegenerateAppenderFileRequest{FileId: "group1/M00/00/00/x"})
			return err
		}, func(f *flaky) int32 { return f.regen.Load() }, codes.Unavailable, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &flaky{failures: tt.failures}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			gs := grpc.NewServer()
			fastdfsv1.RegisterFileServiceServer(gs, srv)
			go gs.Serve(ln)
			defer gs.Stop()
			cc, err := grpc.NewClient(ln.Addr().String(), append(DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			err = tt.call(context.Background(), fastdfsv1.NewFileServiceClient(cc))
			if status.Code(err) != tt.wantCode {
				t.Fatalf("err = %v, want code %v", err, tt.wantCode)
			}
			if got := tt.calls(srv); got != tt.want {
				t.Fatalf("server saw %d calls, want %d", got, tt.want)
			}
		})
	}
}
