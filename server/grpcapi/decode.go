package grpcapi

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/fdfsgo/fdfs/server/fileops"
)

// A request whose bytes are not a valid message is the client's fault, but
// grpc-go answers every codec failure with INTERNAL: it formats the codec's
// error into an INTERNAL status and writes it to the client inside
// RecvMsg, for unary and streaming methods alike, before a handler or an
// interceptor can change it. So the handlers of the services registered by
// Register or through StrictServer announce each request message they
// receive in pendingDecodes; Codec, failing to decode an announced message,
// leaves its error there and reports success to grpc-go, and the handler
// answers INVALID_ARGUMENT (with the ErrorInfo of an EINVAL). A message
// nobody announced fails in Codec as before.

// pendingDecodes maps a request message being received by a strict handler
// to its *decodeFailure. The message itself is the key, so the interceptors
// between the handler and grpc-go see the very message they expect.
var pendingDecodes sync.Map

// decodeFailure is where Codec leaves the decode error of an announced
// message; only the receiving goroutine touches it (grpc-go decodes inside
// RecvMsg).
type decodeFailure struct{ err error }

// receive runs recv (grpc-go's RecvMsg or unary decoder) for m and returns
// Codec's decode failure of m as INVALID_ARGUMENT.
func receive(recv func(any) error, m any) error {
	f := &decodeFailure{}
	pendingDecodes.Store(m, f)
	err := recv(m)
	pendingDecodes.Delete(m)
	if err != nil {
		return err
	}
	return f.err
}

// deferDecodeError records err, Codec's failure to decode v, for the strict
// handler receiving v and reports whether there is one.
func deferDecodeError(v any, err error) bool {
	f, ok := pendingDecodes.Load(v)
	if !ok {
		return false
	}
	name := fmt.Sprintf("%T", v)
	if m, ok := v.(proto.Message); ok {
		name = string(proto.MessageName(m))
	}
	f.(*decodeFailure).err = ToStatus(fileops.Invalid(fmt.Sprintf("malformed request: not a valid %s message: %v", name, err)), "")
	return true
}

// strictDesc returns a copy of d whose handlers receive their request
// messages through receive.
func strictDesc(d *grpc.ServiceDesc) *grpc.ServiceDesc {
	c := *d
	c.Methods = slices.Clone(d.Methods)
	for i := range c.Methods {
		h := c.Methods[i].Handler
		c.Methods[i].Handler = func(srv any, ctx context.Context, dec func(any) error, in grpc.UnaryServerInterceptor) (any, error) {
			return h(srv, ctx, func(m any) error { return receive(dec, m) }, in)
		}
	}
	c.Streams = slices.Clone(d.Streams)
	for i := range c.Streams {
		h := c.Streams[i].Handler
		c.Streams[i].Handler = func(srv any, ss grpc.ServerStream) error { return h(srv, strictStream{ss}) }
	}
	return &c
}

// strictStream is a ServerStream receiving through receive.
type strictStream struct{ grpc.ServerStream }

func (s strictStream) RecvMsg(m any) error { return receive(s.ServerStream.RecvMsg, m) }

// StrictServer registers services on a *grpc.Server so that, with Codec,
// they answer request messages that do not decode with INVALID_ARGUMENT;
// the gateway registers health and reflection through it (Register does
// the same for FileService and ClusterService on any server).
type StrictServer struct{ *grpc.Server }

// RegisterService implements grpc.ServiceRegistrar.
func (s StrictServer) RegisterService(d *grpc.ServiceDesc, impl any) {
	s.Server.RegisterService(strictDesc(d), impl)
}
