package apiclient

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/internal/bufpool"
)

// ChunkSize is the size of the chunks Upload sends, in bytes: 1 MiB less
// room for the message and frame headers, so that a message fits gRPC's
// largest pooled buffer (1 MiB) on the receiving side, and half the
// server's 2 MiB limit.
const ChunkSize = 1<<20 - 64

// uploadChunkField is the number of UploadFileRequest.chunk.
const uploadChunkField = 2

// Upload stores what r yields as a new file described by spec (group,
// extension, metadata, kind, and the exact size, which r must match) and
// returns the server's answer. r is read in chunks of ChunkSize into
// pooled buffers that the transport sends from, so no chunk is copied
// into a message.
//
// If r fails, the call is cancelled so that nothing is stored, and r's
// error is returned; otherwise an error is the gRPC status error.
func Upload(ctx context.Context, c fastdfsv1.FileServiceClient, spec *fastdfsv1.UploadSpec, r io.Reader, opts ...grpc.CallOption) (*fastdfsv1.UploadFileResponse, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.UploadFile(ctx, append(opts[:len(opts):len(opts)], grpc.ForceCodecV2(newSource()))...)
	if err != nil {
		return nil, err
	}
	if err := st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Spec{Spec: spec}}); err != nil {
		return st.CloseAndRecv() // the server ended the call: its status says why
	}
	for {
		bp := uploadPool.Get(ChunkSize)
		n, rerr := io.ReadFull(r, *bp)
		if n > 0 {
			*bp = (*bp)[:n]
			if err := st.SendMsg(&outChunk{bp: bp}); err != nil {
				return st.CloseAndRecv()
			}
		} else {
			uploadPool.Put(bp)
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			return st.CloseAndRecv()
		}
		if rerr != nil {
			cancel()
			return nil, fmt.Errorf("apiclient: reading the content: %w", rerr)
		}
	}
}

// outChunk is an UploadFileRequest carrying a chunk held in a pooled
// buffer. Only sourceCodec can encode it.
type outChunk struct{ bp *[]byte }

// sourceCodec encodes outChunk messages as a protobuf prefix followed by
// the pooled buffer itself, which the transport gives back to the pool
// once written; every other message goes through the standard codec.
type sourceCodec struct{ std encoding.CodecV2 }

func newSource() sourceCodec { return sourceCodec{std: encoding.GetCodecV2(proto.Name)} }

func (s sourceCodec) Name() string { return proto.Name }

func (s sourceCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(*outChunk)
	if !ok {
		return s.std.Marshal(v)
	}
	// The same bytes as proto.Marshal of an UploadFileRequest whose chunk
	// is *m.bp: the field's key, its length, its content.
	prefix := protowire.AppendTag(nil, uploadChunkField, protowire.BytesType)
	prefix = protowire.AppendVarint(prefix, uint64(len(*m.bp)))
	return mem.BufferSlice{mem.SliceBuffer(prefix), mem.NewBuffer(m.bp, uploadPool)}, nil
}

func (s sourceCodec) Unmarshal(data mem.BufferSlice, v any) error { return s.std.Unmarshal(data, v) }

// uploadPool recycles Upload's chunk buffers without zeroing them: only
// the bytes read into a buffer are ever sent.
var uploadPool = bufpool.New(ChunkSize)
