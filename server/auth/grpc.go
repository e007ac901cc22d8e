package auth

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// FromMetadata returns the key incoming gRPC metadata presents:
// "authorization: Bearer <key>", else "x-api-key".
func FromMetadata(md metadata.MD) string {
	for _, v := range md.Get("authorization") {
		if k := parseAuthorization(v); k != "" {
			return k
		}
	}
	if v := md.Get("x-api-key"); len(v) > 0 {
		return v[0]
	}
	return ""
}

// readMethods are the fastdfs.v1 methods a read-only key may call. Every
// other method needs a read-write key, so a method added later is
// protected until it is listed here.
var readMethods = map[string]bool{
	"/fastdfs.v1.FileService/DownloadFile":       true,
	"/fastdfs.v1.FileService/GetFileInfo":        true,
	"/fastdfs.v1.FileService/GetMetadata":        true,
	"/fastdfs.v1.FileService/CreateDownloadUrl":  true,
	"/fastdfs.v1.FileService/ListFiles":          true,
	"/fastdfs.v1.ClusterService/ListGroups":      true,
	"/fastdfs.v1.ClusterService/ListStorages":    true,
	"/fastdfs.v1.ClusterService/GetStorage":      true,
	"/fastdfs.v1.ClusterService/LocateStorages":  true,
	"/fastdfs.v1.ClusterService/GetClusterStats": true,
}

// MethodAccess is the access a gRPC method ("/pkg.Service/Method") needs:
// health checks are public, server reflection and the reads of
// readMethods need any key, everything else a read-write key.
func MethodAccess(fullMethod string) Access {
	service, _, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	switch {
	case service == "grpc.health.v1.Health":
		return Public
	case strings.HasPrefix(service, "grpc.reflection."), readMethods[fullMethod]:
		return Read
	}
	return Write
}

func (a *Authenticator) authorize(ctx context.Context, fullMethod string) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	p, err := a.Check(FromMetadata(md), MethodAccess(fullMethod))
	if err != nil {
		return nil, Status(err).Err()
	}
	return NewContext(ctx, p), nil
}

// UnaryInterceptor authenticates unary calls.
func (a *Authenticator) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamInterceptor authenticates streaming calls before the handler reads
// anything from the stream.
func (a *Authenticator) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := a.authorize(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
	}
}

// contextStream is a ServerStream with a replaced context.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }
