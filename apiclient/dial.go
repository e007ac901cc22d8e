package apiclient

import (
	_ "embed"

	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"

	"github.com/fdfsgo/fdfs/internal/bufpool"
)

// Window is the HTTP/2 flow-control window DialOptions sets for every
// stream and connection, in bytes. grpc-go's default starts at 64 KiB and
// grows with its bandwidth estimate, which keeps a large download waiting
// for window updates on a fast link; a fixed 16 MiB keeps it streaming.
// It is also the most content a stream buffers when the caller reads
// slower than the gateway sends.
const Window = 16 << 20

// recvPool holds the buffers the transport reads frames and messages into:
// grpc-go's default tiers, without zeroing reused buffers (see bufpool).
var recvPool = bufpool.New(256, 4<<10, 16<<10, 32<<10, 1<<20)

// ServiceConfig is the gRPC service config of fastdfs.v1 (the file
// apiclient/service_config.json, for clients in any language): calls that
// are safe to repeat are retried on UNAVAILABLE, up to 4 attempts with
// backoff from 0.1 s to 2 s. UploadFile, AppendFile and
// RegenerateAppenderFile are not in it: repeating one that was done but
// whose answer was lost would store the content twice or fail, so a
// caller retries them only after checking what the first attempt did
// (docs/api-behaviour.md, "Which calls are safe to retry").
//
//go:embed service_config.json
var ServiceConfig string

// DialOptions are the grpc.NewClient options for connections that move
// large files through Upload and Download: 1 MiB socket buffers (a chunk
// in a few syscalls, not one per 16 KiB frame), fixed Window-sized flow
// control windows, a receive pool that does not zero its buffers, and
// ServiceConfig as the default service config (a config the server
// publishes through name resolution wins). Transport credentials are the
// caller's to add.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultServiceConfig(ServiceConfig),
		grpc.WithReadBufferSize(1 << 20),
		grpc.WithWriteBufferSize(1 << 20),
		grpc.WithInitialWindowSize(Window),
		grpc.WithInitialConnWindowSize(Window),
		experimental.WithBufferPool(recvPool),
	}
}
