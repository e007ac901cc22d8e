package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // the client's compressor
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
)

// FuzzGRPC calls one method of FileService or ClusterService an input
// (method modulo their number) with msg as the request message, and more
// as a second message of client streams: the bytes as they are, or, when
// they decode as the request and hold placeholders (fuzz_env_test.go),
// that request with its strings expanded. key picks the API key (and,
// with its high bit, gzip for the messages) and mdKey/mdVal add one
// metadata pair. Properties:
//
//   - the call ends within fuzzTimeout (streams included: the client
//     half-closes, so a server waiting for more is a hang);
//   - its code is neither UNKNOWN nor INTERNAL (a client's request, a
//     healthy cluster);
//   - a failed call's status carries an ErrorInfo of domain fastdfs.v1
//     (docs/api-behaviour.md: always; request messages that do not decode
//     included), a BadRequest naming a field when the code is
//     INVALID_ARGUMENT (but for those messages) or OUT_OF_RANGE, and
//     names no tracker or storage address nor FastDFS status
//     (fuzzEnv.leak);
//   - fuzzEnv.verify, as for FuzzREST.
func FuzzGRPC(f *testing.F) {
	fe := startFuzzEnv(f)
	for _, s := range grpcSeeds(f) {
		f.Add(s.method, s.msg, s.more, "", "", s.key, uint16(0))
	}
	f.Add(methodIndex("GetFileInfo"), []byte("\x0a\x02$N"), []byte(nil), "x-request-id", "id with spaces", uint8(1), uint16(0))
	f.Add(methodIndex("DeleteFile"), []byte("\x0a\x02$N"), []byte(nil), "authorization", "Basic x", uint8(0), uint16(0x1041))
	// The metadata the REST routes' If-Match travels as, from a gRPC client.
	f.Add(methodIndex("DeleteFile"), []byte("\x0a\x02$N"), []byte(nil), "grpcgateway-if-match", `"stale"`, uint8(3), uint16(0))
	conn := fe.grpcConn(f)
	f.Fuzz(func(t *testing.T, method uint8, msg, more []byte, mdKey, mdVal string, key uint8, edit uint16) {
		m := grpcMethods[int(method)%len(grpcMethods)]
		msgs := fe.grpcMessages(m, msg, more, edit)
		md := grpcMetadata(key, mdKey, mdVal)
		detail := fmt.Sprintf("call %s (gzip %v), metadata %q, messages %q", m.name, key&0x80 != 0, mdText(md), msgs)
		err := grpcCall(metadata.NewOutgoingContext(context.Background(), md), conn, m, msgs, key&0x80 != 0)
		detail += fmt.Sprintf("\nstatus: %v", err)
		checkGRPCStatus(t, err, detail)
		text := mdText(md) + string(bytes.Join(msgs, nil))
		if l := fe.leak(fmt.Sprint(status.Convert(err).Proto()), text); err != nil && l != "" {
			t.Fatalf("the status holds %q\n%s", l, detail)
		}
		fe.verify(t, &fuzzRequest{text: text, conds: grpcConds(m, msgs, md), accepted: err == nil, detail: detail})
	})
}

// grpcMethod is a method of the API.
type grpcMethod struct {
	name         string // "/fastdfs.v1.FileService/UploadFile"
	in           protoreflect.MessageType
	clientStream bool
	serverStream bool
}

// grpcMethods are every method of FileService and ClusterService, in the
// order of the protos.
var grpcMethods = func() []grpcMethod {
	var out []grpcMethod
	for _, fd := range []protoreflect.FileDescriptor{fastdfsv1.File_fastdfs_v1_file_service_proto, fastdfsv1.File_fastdfs_v1_cluster_service_proto} {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				in, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
				if err != nil {
					panic(err)
				}
				out = append(out, grpcMethod{name: "/" + string(sd.FullName()) + "/" + string(md.Name()), in: in,
					clientStream: md.IsStreamingClient(), serverStream: md.IsStreamingServer()})
			}
		}
	}
	return out
}()

// methodIndex is the index of a method of grpcMethods by its short name.
func methodIndex(name string) uint8 {
	for i, m := range grpcMethods {
		if strings.HasSuffix(m.name, "/"+name) {
			return uint8(i)
		}
	}
	panic("no method " + name)
}

// grpcMessages returns the messages to send: msg, and more for a client
// stream when not empty, each expanded (expandMessage).
func (fe *fuzzEnv) grpcMessages(m grpcMethod, msg, more []byte, edit uint16) [][]byte {
	first, done := fe.expandMessage(m.in, msg, edit)
	msgs := [][]byte{first}
	if m.clientStream && len(more) > 0 {
		if done {
			edit = 0
		}
		second, _ := fe.expandMessage(m.in, more, edit)
		msgs = append(msgs, second)
	}
	return msgs
}

// expandMessage expands the placeholders of the strings of b decoded as a
// message of type mt and encodes it again; b is returned as it is when it
// holds no placeholder or does not decode. done reports that edit was
// applied.
func (fe *fuzzEnv) expandMessage(mt protoreflect.MessageType, b []byte, edit uint16) ([]byte, bool) {
	if !bytes.Contains(b, []byte("$")) {
		return b, false
	}
	m := mt.New()
	if proto.Unmarshal(b, m.Interface()) != nil {
		return b, false
	}
	done := fe.expandStrings(m, edit, false)
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(m.Interface())
	if err != nil {
		return b, false
	}
	return out, done
}

// expandStrings expands the placeholders of every string of m, nested
// messages and map values included.
func (fe *fuzzEnv) expandStrings(m protoreflect.Message, edit uint16, done bool) bool {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if fd.MapValue().Kind() == protoreflect.StringKind {
					var s string
					s, done = fe.expand(mv.String(), edit, done)
					v.Map().Set(k, protoreflect.ValueOfString(s))
				}
				return true
			})
		case fd.IsList():
			// No request of the API has a repeated string or message.
		case fd.Kind() == protoreflect.StringKind:
			var s string
			s, done = fe.expand(v.String(), edit, done)
			m.Set(fd, protoreflect.ValueOfString(s))
		case fd.Kind() == protoreflect.MessageKind:
			done = fe.expandStrings(v.Message(), edit, done)
		}
		return true
	})
	return done
}

// grpcKeys are the API key metadata (FuzzGRPC's key modulo 6).
var grpcKeys = []metadata.MD{
	{},
	{"authorization": {"Bearer " + roKey}},
	{"x-api-key": {roKey}},
	{"authorization": {"Bearer " + rwKey}},
	{"x-api-key": {rwKey}},
	{"authorization": {"Bearer not-a-configured-key-0123"}},
}

// grpcMetadata is the key's metadata plus the pair (k, v) made valid for
// the client: a lowercase key of [0-9a-z-_.] that is not reserved
// (grpc-*, pseudo-headers, transport headers), a printable ASCII value
// unless the key ends in -bin. The client refuses anything else itself,
// which would test grpc-go's client, not the gateway.
func grpcMetadata(key uint8, k, v string) metadata.MD {
	md := grpcKeys[key%6].Copy()
	k = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return -1
	}, strings.ToLower(k))
	switch k {
	case "", "content-type", "te", "user-agent", "host", "connection":
		return md
	}
	if strings.HasPrefix(k, "grpc-") {
		return md
	}
	if !strings.HasSuffix(k, "-bin") {
		v = strings.Map(func(r rune) rune {
			if r >= 0x20 && r <= 0x7e {
				return r
			}
			return -1
		}, v)
	}
	md.Append(k, v)
	return md
}

// mdText is md as text (MD's own formatting redacts the values).
func mdText(md metadata.MD) string {
	var b strings.Builder
	for k, vs := range md {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}

// grpcCall makes the call: sends msgs (as they are: rawCodec; compressed
// with gzip if asked), half-closes and reads every reply until the status,
// within fuzzTimeout.
func grpcCall(ctx context.Context, conn *grpc.ClientConn, m grpcMethod, msgs [][]byte, gzip bool) error {
	ctx, cancel := context.WithTimeout(ctx, fuzzTimeout)
	defer cancel()
	opts := []grpc.CallOption{grpc.ForceCodecV2(rawCodec{})}
	if gzip {
		opts = append(opts, grpc.UseCompressor("gzip"))
	}
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: m.clientStream, ServerStreams: m.serverStream}, m.name, opts...)
	if err != nil {
		return err
	}
	for _, msg := range msgs {
		if st.SendMsg(&msg) != nil {
			break // the server ended the call: RecvMsg has its status
		}
	}
	st.CloseSend()
	for {
		var reply []byte
		if err := st.RecvMsg(&reply); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// checkGRPCStatus checks a call's status.
func checkGRPCStatus(t *testing.T, err error, detail string) {
	t.Helper()
	st := status.Convert(err)
	switch st.Code() {
	case codes.OK:
		return
	case codes.Unknown, codes.Internal:
		t.Fatalf("%v for a client's request\n%s", st.Code(), detail)
	case codes.DeadlineExceeded:
		t.Fatalf("no status within %v\n%s", fuzzTimeout, detail)
	}
	if !hasErrorInfo(st) {
		t.Fatalf("status without an ErrorInfo of domain fastdfs.v1\n%s", detail)
	}
	if needsBadRequest(st) && !hasBadRequest(st) {
		t.Fatalf("%v without a google.rpc.BadRequest\n%s", st.Code(), detail)
	}
}

// needsBadRequest reports whether docs/api-behaviour.md promises st a
// google.rpc.BadRequest: every INVALID_ARGUMENT (but that of a message
// that does not decode) and OUT_OF_RANGE.
func needsBadRequest(st *status.Status) bool {
	switch st.Code() {
	case codes.InvalidArgument:
		return !strings.Contains(st.Message(), "malformed request")
	case codes.OutOfRange:
		return true
	}
	return false
}

// hasBadRequest reports whether st names a bad field.
func hasBadRequest(st *status.Status) bool {
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 && br.GetFieldViolations()[0].GetField() != "" {
			return true
		}
	}
	return false
}

// hasErrorInfo reports whether st carries an ErrorInfo of the API's
// domain.
func hasErrorInfo(st *status.Status) bool {
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.GetDomain() == "fastdfs.v1" && ei.GetReason() != "" {
			return true
		}
	}
	return false
}
