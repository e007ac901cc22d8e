package gateway

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
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

// rawCall sends msg on a new stream of method and returns the call's
// status.
func rawCall(ctx context.Context, conn *grpc.ClientConn, method string, msg []byte) error {
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, method,
		grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		return err
	}
	st.SendMsg(&msg) // a failure shows in RecvMsg: the server ended the call
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

// The gateway answers a gRPC request that is not a valid message with
// INVALID_ARGUMENT on every service it serves (its own, health,
// reflection), and a REST request that does not translate into a valid
// message (bad JSON, URL parameters that are not UTF-8) with 400.
func TestMalformedRequests(t *testing.T) {
	e := startEnv(t, nil)
	invalidUTF8 := []byte("\x0a\x02\xff\xfe") // field 1, a string, is not UTF-8
	for _, method := range []string{
		"/fastdfs.v1.FileService/GetFileInfo",
		"/fastdfs.v1.FileService/DownloadFile",
		"/fastdfs.v1.FileService/UploadFile",
		"/fastdfs.v1.ClusterService/GetStorage",
		"/grpc.health.v1.Health/Check",
		"/grpc.health.v1.Health/Watch",
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
	} {
		err := rawCall(withKey(opCtx(t), rwKey), e.grpcConn(t), method, invalidUTF8)
		if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "malformed request") {
			t.Errorf("%s: %v, want INVALID_ARGUMENT for a malformed request", method, err)
		}
	}

	id := e.upload(t, "", []byte("content"))
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/files/" + id + ":setMetadata", `{not json`},
		{"POST", "/v1/files/" + id + ":setMetadata", `{"metadata": 5}`},
		{"POST", "/v1/files/" + id + ":setMetadata", `{"mode": "NO_SUCH_MODE"}`},
		{"POST", "/v1/files/" + id + ":truncate", `[]`},
		// URL text that no protobuf string field can hold.
		{"GET", "/v1/files/%ff", ""},
		{"DELETE", "/v1/files/%ff", ""},
		{"POST", "/v1/files/%ff:truncate", "{}"},
		{"GET", "/v1/groups/%ff/storages", ""},
		{"GET", "/v1/storages:locate?fileId=%ff", ""},
	} {
		resp, b := do(t, c.method, e.url(c.path), rwKey, strings.NewReader(c.body), nil)
		if resp.StatusCode != http.StatusBadRequest || decodeStatus(t, b).Code != int(codes.InvalidArgument) {
			t.Errorf("%s %s %s: %s %s, want 400 INVALID_ARGUMENT", c.method, c.path, c.body, resp.Status, b)
		}
	}
}
