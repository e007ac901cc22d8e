package grpcapi

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
)

// TestCodecChunkWire: a chunk encoded by Codec is byte-identical to the
// standard encoding of the same DownloadFileResponse, decodes with the
// standard codec, and its buffer goes back to the pool once the
// transport frees it.
func TestCodecChunkWire(t *testing.T) {
	c := Codec()
	for _, n := range []int{1, 127, 128, 16383, 16384, DownloadChunkSize} {
		bp := chunkPool.Get(n)
		for i := range *bp {
			(*bp)[i] = byte(i*7 + n)
		}
		want, err := proto.Marshal(&fastdfsv1.DownloadFileResponse{Chunk: *bp})
		if err != nil {
			t.Fatal(err)
		}
		msg := &outChunk{DownloadFileResponse: &fastdfsv1.DownloadFileResponse{Chunk: *bp}, bp: bp}
		data, err := c.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		if !msg.handedOff {
			t.Fatalf("%d bytes: the codec did not take the buffer", n)
		}
		if got := data.Materialize(); !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: wire %x..., want %x...", n, got[:min(8, len(got))], want[:min(8, len(want))])
		}
		var back fastdfsv1.DownloadFileResponse
		if err := c.Unmarshal(data, &back); err != nil || !bytes.Equal(back.GetChunk(), *bp) {
			t.Fatalf("%d bytes: decoded %d bytes, err %v", n, len(back.GetChunk()), err)
		}
		data.Free()
	}

	// Other messages take the standard path.
	in := &fastdfsv1.GetFileInfoRequest{FileId: "group1/M00/00/00/x.jpg"}
	data, err := c.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out fastdfsv1.GetFileInfoRequest
	if err := c.Unmarshal(data, &out); err != nil || out.GetFileId() != in.GetFileId() {
		t.Fatalf("standard message round trip: %v, %v", out.GetFileId(), err)
	}
	if c.Name() != "proto" {
		t.Fatalf("codec name %q: clients would see another content subtype", c.Name())
	}
}
