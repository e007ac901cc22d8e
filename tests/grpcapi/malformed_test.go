package grpcapi

import (
	"context"
	"io"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// rawCodec puts a *[]byte on the wire as it is and reads replies as raw
// bytes: it sends requests that are not valid messages.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

// malformedMessages are request bodies no protobuf message decodes.
var malformedMessages = []struct{ name, bytes string }{
	{"truncated field", "\x0a\x05ab"},
	{"invalid UTF-8 in a string", "\x0a\x02\xff\xfe"},
	{"stray end-group", "\x0c"},
	{"overlong varint", "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"},
}

// rawCall sends msgs on a new stream of method and returns the call's
// status: what the server answers to bytes that are not a valid request.
func rawCall(ctx context.Context, conn *grpc.ClientConn, method string, msgs ...[]byte) error {
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, method,
		grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if err := st.SendMsg(&m); err != nil {
			break // the server ended the call: RecvMsg returns its status
		}
	}
	st.CloseSend()
	for {
		var reply []byte
		if err := st.RecvMsg(&reply); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// Requests that are not valid protobuf messages are the client's fault:
// INVALID_ARGUMENT naming the message type, on unary and streaming methods
// alike, also when the bad message follows a valid one.
func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	e := start(t, cluster.Options{Storages: 1}, nil)
	conn, err := grpc.NewClient(e.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	spec, err := proto.Marshal(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Spec{Spec: &fastdfsv1.UploadSpec{Size: 10}}})
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name, method, message string
		before                [][]byte // valid messages sent first
	}{
		{"unary", "/fastdfs.v1.FileService/GetFileInfo", "fastdfs.v1.GetFileInfoRequest", nil},
		{"unary cluster", "/fastdfs.v1.ClusterService/ListStorages", "fastdfs.v1.ListStoragesRequest", nil},
		{"server stream", "/fastdfs.v1.FileService/DownloadFile", "fastdfs.v1.DownloadFileRequest", nil},
		{"client stream", "/fastdfs.v1.FileService/UploadFile", "fastdfs.v1.UploadFileRequest", nil},
		{"client stream after the spec", "/fastdfs.v1.FileService/UploadFile", "fastdfs.v1.UploadFileRequest", [][]byte{spec}},
	}
	for _, c := range calls {
		for _, m := range malformedMessages {
			t.Run(c.name+"/"+m.name, func(t *testing.T) {
				err := rawCall(opCtx(t), conn, c.method, append(c.before, []byte(m.bytes))...)
				wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT", "")
				if !strings.Contains(err.Error(), c.message) {
					t.Fatalf("error %v does not name %s", err, c.message)
				}
			})
		}
	}
}
