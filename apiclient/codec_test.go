package apiclient

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
)

// split cuts b into buffers at the given offsets, the way gRPC hands over a
// message received in several frames.
func split(b []byte, cuts ...int) mem.BufferSlice {
	var s mem.BufferSlice
	prev := 0
	for _, c := range append(cuts, len(b)) {
		s = append(s, mem.SliceBuffer(b[prev:c]))
		prev = c
	}
	return s
}

func TestSinkCodecUnmarshal(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789abcdef"), 100)
	std, err := proto.Marshal(&fastdfsv1.DownloadFileResponse{Chunk: content})
	if err != nil {
		t.Fatal(err)
	}
	bytesField := func(num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	unknown := cat(
		protowire.AppendVarint(protowire.AppendTag(nil, 7, protowire.VarintType), 1<<40),
		protowire.AppendFixed32(protowire.AppendTag(nil, 8, protowire.Fixed32Type), 5),
		protowire.AppendFixed64(protowire.AppendTag(nil, 9, protowire.Fixed64Type), 6),
		bytesField(10, []byte("other")),
		// The chunk's number with the wrong wire type is an unknown field.
		protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 3),
	)
	tests := []struct {
		name    string
		msg     []byte
		want    []byte
		wantErr bool
	}{
		{"standard encoding", std, content, false},
		{"empty message", nil, nil, false},
		{"empty chunk", bytesField(1, nil), nil, false},
		{"unknown fields around the chunk", cat(unknown, std, unknown), content, false},
		{"chunk twice", cat(std, std), content, true},
		{"chunk longer than the message", std[:len(std)-1], nil, true},
		{"truncated key", []byte{0x80}, nil, true},
		{"varint of 11 bytes", cat([]byte{0x38}, bytes.Repeat([]byte{0xff}, 10), []byte{1}), nil, true},
		{"group wire type", protowire.AppendTag(nil, 2, protowire.StartGroupType), nil, true},
		{"field number 0", []byte{0x02, 0x00}, nil, true},
		{"truncated unknown fixed64", protowire.AppendTag(nil, 9, protowire.Fixed64Type), nil, true},
	}
	for _, tc := range tests {
		// Every way of cutting the message in two, and in bytes.
		cuts := [][]int{nil}
		for i := 1; i < len(tc.msg); i++ {
			cuts = append(cuts, []int{i})
		}
		var all []int
		for i := 1; i < len(tc.msg); i++ {
			all = append(all, i)
		}
		cuts = append(cuts, all)
		for _, cut := range cuts {
			var got bytes.Buffer
			s := newSink(&got)
			m := &fastdfsv1.DownloadFileResponse{Chunk: []byte("stale")}
			err := s.Unmarshal(split(tc.msg, cut...), m)
			if tc.wantErr {
				if !errors.Is(err, errMalformed) {
					t.Fatalf("%s cut at %v: err %v, want malformed", tc.name, cut, err)
				}
				continue
			}
			if err != nil || !bytes.Equal(got.Bytes(), tc.want) || s.n != int64(len(tc.want)) || m.Chunk != nil {
				t.Fatalf("%s cut at %v: wrote %d bytes (%d counted), err %v, message %v", tc.name, cut, got.Len(), s.n, err, m)
			}
		}
	}
}

// Messages other than DownloadFileResponse go through the standard codec.
func TestSinkCodecOtherMessages(t *testing.T) {
	s := newSink(nil)
	req := &fastdfsv1.DownloadFileRequest{FileId: "group1/M00/00/00/x.txt", Offset: 3, Length: 4}
	b, err := s.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var back fastdfsv1.DownloadFileRequest
	if err := s.Unmarshal(b, &back); err != nil || !proto.Equal(&back, req) {
		t.Fatalf("round trip: %v, %v", &back, err)
	}
}

// sourceCodec's chunk encoding is what proto.Marshal gives.
func TestSourceCodecMarshal(t *testing.T) {
	c := newSource()
	for _, n := range []int{1, 127, 128, ChunkSize} {
		bp := uploadPool.Get(n)
		for i := range *bp {
			(*bp)[i] = byte(i * 7)
		}
		want, err := proto.Marshal(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Chunk{Chunk: *bp}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Marshal(&outChunk{bp: bp})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Materialize(), want) {
			t.Fatalf("%d-byte chunk encodes differently from proto.Marshal", n)
		}
		got.Free()
	}
}

// Whatever arrives, the sink never panics, and when it accepts a message
// it wrote exactly the chunk the standard decoder finds in it.
func FuzzSinkCodec(f *testing.F) {
	std, _ := proto.Marshal(&fastdfsv1.DownloadFileResponse{Chunk: []byte("content")})
	f.Add(std, 3)
	f.Add(append(append([]byte{0x38, 0x01}, std...), 0x52, 0x01, 'x'), 1)
	f.Add([]byte{0x0a, 0x05, 'a'}, 2)
	f.Fuzz(func(t *testing.T, msg []byte, cut int) {
		var cuts []int
		if cut > 0 && cut < len(msg) {
			cuts = []int{cut}
		}
		var got bytes.Buffer
		s := newSink(&got)
		if err := s.Unmarshal(split(msg, cuts...), &fastdfsv1.DownloadFileResponse{}); err != nil {
			return
		}
		var want fastdfsv1.DownloadFileResponse
		if err := proto.Unmarshal(msg, &want); err != nil {
			t.Fatalf("accepted %x, which proto.Unmarshal refuses: %v", msg, err)
		}
		if !bytes.Equal(got.Bytes(), want.GetChunk()) {
			t.Fatalf("%x: wrote %x, the chunk is %x", msg, got.Bytes(), want.GetChunk())
		}
	})
}
