package grpcapi

import (
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/internal/bufpool"
)

// Codec returns the gRPC codec the gateway's server uses
// (grpc.ForceServerCodecV2). It is the standard protobuf codec, except that
// DownloadFile's content chunks are encoded without copying: the message's
// bytes are a small protobuf prefix followed by the very buffer the chunk
// was read into from the storage, which the transport returns to
// DownloadFile's pool once it has written it. The standard codec copies
// every chunk into a buffer it has just zeroed, a third of the gateway's
// CPU in large downloads. Its decode failures are answered with
// INVALID_ARGUMENT instead of grpc-go's INTERNAL (decode.go).
func Codec() encoding.CodecV2 {
	return chunkCodec{std: encoding.GetCodecV2(proto.Name)}
}

type chunkCodec struct{ std encoding.CodecV2 }

// Name keeps the content subtype of the standard codec: on the wire the
// messages are ordinary protobuf.
func (c chunkCodec) Name() string { return proto.Name }

func (c chunkCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*outChunk); ok {
		return m.wire(), nil
	}
	return c.std.Marshal(v)
}

// Unmarshal leaves the decode failure of a request message that a strict
// handler receives to that handler (decode.go).
func (c chunkCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.std.Unmarshal(data, v)
	if err != nil && deferDecodeError(v, err) {
		return nil
	}
	return err
}

// outChunk is one DownloadFileResponse on its way out, with the pooled
// buffer holding its content. It is a DownloadFileResponse (through the
// embedded message), so a server without Codec sends it too, copying.
type outChunk struct {
	*fastdfsv1.DownloadFileResponse
	bp *[]byte // Chunk is *bp
	// handedOff is set when the codec passed bp to the transport, which
	// then owns it; otherwise the sender recycles bp after SendMsg.
	handedOff bool
}

// chunkFieldTag is DownloadFileResponse.chunk's key (field 1, bytes).
var chunkFieldTag = protowire.AppendTag(nil, 1, protowire.BytesType)

// wire returns the encoded message, which is exactly what proto.Marshal
// gives for a DownloadFileResponse with only Chunk set: its key, its
// length, its bytes (and nothing for an empty chunk).
func (m *outChunk) wire() mem.BufferSlice {
	n := len(*m.bp)
	if n == 0 {
		return mem.BufferSlice{}
	}
	prefix := protowire.AppendVarint(append([]byte(nil), chunkFieldTag...), uint64(n))
	m.handedOff = true
	return mem.BufferSlice{mem.SliceBuffer(prefix), mem.NewBuffer(m.bp, chunkPool)}
}

// chunkPool recycles the DownloadChunkSize buffers chunks are read into.
// It does not zero a buffer on reuse: only the bytes read into it are ever
// sent.
var chunkPool = bufpool.New(DownloadChunkSize)
