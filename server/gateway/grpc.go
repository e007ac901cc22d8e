package gateway

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	// Registers the gzip compressor: clients may send and ask for
	// compressed messages (grpc-encoding: gzip); the server answers a
	// compressed request compressed.
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/internal/bufpool"
	"github.com/fdfsgo/fdfs/server/config"
	"github.com/fdfsgo/fdfs/server/fileops"
	"github.com/fdfsgo/fdfs/server/grpcapi"
)

// requestIDHeader is the HTTP header and gRPC metadata key of request IDs.
const requestIDHeader = "x-request-id"

// streamWorkers is the number of goroutines kept to run gRPC calls: calls
// run on workers whose stacks have already grown to what a download needs
// instead of on a new goroutine per call that grows its stack again (when
// every worker is busy, a call gets a new goroutine as usual).
func streamWorkers() uint32 { return uint32(4 * runtime.GOMAXPROCS(0)) }

// recvBufferPool holds the buffers incoming messages are read into:
// grpc-go's default tiers (256 B to 1 MiB) plus one for the largest message
// the server accepts, whose chunks (up to grpcapi.MaxChunkSize) would
// otherwise be a fresh allocation each, and without grpc-go's zeroing of
// every reused buffer (see bufpool).
var recvBufferPool = bufpool.New(256, 4<<10, 16<<10, 32<<10, 1<<20, maxRecvMsgSize)

// downloadURLs fills the download URL options of svc that are not set
// from gateway.yaml's download_urls.
func downloadURLs(svc *grpcapi.Options, d config.DownloadURLs) {
	if svc.HTTPBaseURL == "" {
		svc.HTTPBaseURL = strings.TrimSuffix(d.BaseURL, "/")
	}
	if svc.HTTPPort == 0 {
		svc.HTTPPort = d.StorageHTTPPort
	}
	if !svc.URLWithoutGroup {
		svc.URLWithoutGroup = d.WithoutGroup
	}
	if svc.TokenSecret == "" {
		svc.TokenSecret = d.SecretKey
	}
	if svc.TokenTTL == 0 {
		svc.TokenTTL = d.TokenTTL
	}
}

// grpcRequestID returns the caller's request ID (if it is sane) or a new
// one, and sends it back in the response headers.
func grpcRequestID(ctx context.Context) string {
	id := ""
	if v := metadata.ValueFromIncomingContext(ctx, requestIDHeader); len(v) > 0 && validRequestID(v[0]) {
		id = v[0]
	} else {
		id = newRequestID()
	}
	grpc.SetHeader(ctx, metadata.Pairs(requestIDHeader, id))
	return id
}

func (g *Gateway) logCall(ctx context.Context, method, id string, start time.Time, err error) {
	if !*g.cfg.AccessLog {
		return
	}
	attrs := make([]slog.Attr, 0, 7)
	attrs = append(attrs, slog.String("proto", "grpc"), slog.String("method", method), slog.String("request_id", id),
		slog.String("code", status.Code(err).String()), slog.Duration("duration", time.Since(start)))
	if p, ok := peer.FromContext(ctx); ok {
		attrs = append(attrs, slog.String("remote", p.Addr.String()))
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", status.Convert(err).Message()))
	}
	g.log.LogAttrs(ctx, slog.LevelInfo, "access", attrs...)
}

// logUnary gives each unary call a request ID and an access log line.
func (g *Gateway) logUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	id := grpcRequestID(ctx)
	ctx = withRequestID(ctx, id)
	resp, err := handler(ctx, req)
	g.logCall(ctx, info.FullMethod, id, start, err)
	return resp, err
}

// logStream gives each streaming call a request ID and an access log line.
func (g *Gateway) logStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	ctx := ss.Context()
	id := grpcRequestID(ctx)
	err := handler(srv, &wrappedStream{ServerStream: ss, ctx: withRequestID(ctx, id)})
	g.logCall(ctx, info.FullMethod, id, start, err)
	return err
}

// limitStream refuses client streams announcing more content than
// limits.max_upload_size: every content stream states its exact size in
// its first message, and grpcapi holds it to that size. It also ends a
// client stream whose next message does not arrive within
// limits.io_timeout, as the REST routes do with a stalled body: a stream
// that sends nothing would otherwise hold its handler and connection
// until the client goes away.
func (g *Gateway) limitStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !info.IsClientStream {
		return handler(srv, ss)
	}
	return handler(srv, &limitedStream{ServerStream: ss, max: int64(g.cfg.Limits.MaxUploadSize), timeout: g.cfg.Limits.IOTimeout})
}

type limitedStream struct {
	grpc.ServerStream
	max     int64         // bytes of content; 0: no limit
	timeout time.Duration // wait for each message; 0: no limit
	checked bool
}

func (s *limitedStream) RecvMsg(m any) error {
	if err := s.recvTimed(m); err != nil || s.checked {
		return err
	}
	s.checked = true
	var size int64
	switch m := m.(type) {
	case *fastdfsv1.UploadFileRequest:
		size = m.GetSpec().GetSize()
	case *fastdfsv1.AppendFileRequest:
		size = m.GetSpec().GetSize()
	case *fastdfsv1.ModifyFileRequest:
		size = m.GetSpec().GetSize()
	}
	if s.max > 0 && size > s.max {
		// With the ErrorInfo every error of the API carries (reason
		// RESOURCE_EXHAUSTED, as REST answers the same refusal).
		return fileops.WithErrorInfo(status.Newf(codes.ResourceExhausted, "content of %d bytes exceeds the upload limit of %d bytes", size, s.max), "").Err()
	}
	return nil
}

// recvTimed receives m within s.timeout. On a timeout the receive goes on
// in its goroutine until the handler's error ends the stream, which
// cancels the stream and so that receive (m is then left alone: the
// handler no longer reads it).
func (s *limitedStream) recvTimed(m any) error {
	if s.timeout <= 0 {
		return s.ServerStream.RecvMsg(m)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServerStream.RecvMsg(m) }()
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		return fileops.WithErrorInfo(status.Newf(codes.DeadlineExceeded, "no message on the stream within limits.io_timeout (%v)", s.timeout), "").Err()
	}
}

// wrappedStream is a ServerStream with a replaced context.
type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *wrappedStream) Context() context.Context { return s.ctx }

type requestIDKey struct{}

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request ID of the call or HTTP request ctx belongs
// to ("" if none).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
