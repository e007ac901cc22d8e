package apiclient

import (
	"context"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
)

// chunkField is the number of DownloadFileResponse.chunk.
const chunkField = 1

// Download streams the content req asks for (all of a file, or the range
// given by its offset and length) into w and returns the number of bytes
// written. Each chunk is written to w straight from gRPC's receive
// buffers, in the pieces the transport received it in; nothing is
// allocated per chunk.
//
// An error from w ends the call and is returned as it is; an error of the
// call is the gRPC status error. In both cases the bytes already written
// stay written.
func Download(ctx context.Context, c fastdfsv1.FileServiceClient, req *fastdfsv1.DownloadFileRequest, w io.Writer, opts ...grpc.CallOption) (int64, error) {
	sink := newSink(w)
	st, err := c.DownloadFile(ctx, req, append(opts[:len(opts):len(opts)], grpc.ForceCodecV2(sink))...)
	if err != nil {
		return 0, err
	}
	var m fastdfsv1.DownloadFileResponse
	for {
		err := st.RecvMsg(&m)
		if err == io.EOF {
			return sink.n, nil
		}
		if err != nil {
			if sink.werr != nil {
				return sink.n, sink.werr
			}
			return sink.n, err
		}
	}
}

// sinkCodec decodes DownloadFileResponse messages by writing their chunk to
// w (leaving the message empty) and everything else with the standard
// codec. One sinkCodec serves one call, whose messages gRPC decodes one at
// a time.
type sinkCodec struct {
	std  encoding.CodecV2
	w    io.Writer
	n    int64 // bytes written to w
	werr error // w's error, which ended the call
}

func newSink(w io.Writer) *sinkCodec {
	return &sinkCodec{std: encoding.GetCodecV2(proto.Name), w: w}
}

func (s *sinkCodec) Name() string { return proto.Name }

func (s *sinkCodec) Marshal(v any) (mem.BufferSlice, error) { return s.std.Marshal(v) }

func (s *sinkCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*fastdfsv1.DownloadFileResponse)
	if !ok {
		return s.std.Unmarshal(data, v)
	}
	m.Reset()
	c := cursor{bufs: data}
	seen := false
	return c.eachBytesField(func(num protowire.Number, n uint64) (bool, error) {
		if num != chunkField {
			return false, nil
		}
		if seen {
			// proto3 keeps the last occurrence of a bytes field, but the
			// first one is already written: refuse rather than corrupt.
			return false, fmt.Errorf("%w: chunk field repeated in one message", errMalformed)
		}
		seen = true
		return true, c.span(n, s.write)
	})
}

func (s *sinkCodec) write(b []byte) error {
	n, err := s.w.Write(b)
	s.n += int64(n)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		s.werr = err
	}
	return err
}
