package grpcapi

import (
	"bytes"
	"crypto/rand"
	"maps"
	"testing"

	"google.golang.org/grpc/codes"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/grpcapi"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestNormalFile(t *testing.T) {
	t.Parallel()
	e := start(t, cluster.Options{Storages: 1}, nil)
	content := randomBytes(5<<20 + 123) // several chunks each way
	meta := map[string]string{"width": "1024", "author": "fdfs"}
	id := e.upload(t, &fastdfsv1.UploadSpec{Group: "group1", Ext: "jpg", Metadata: meta}, content)

	t.Run("info", func(t *testing.T) {
		resp, err := e.files.GetFileInfo(opCtx(t), &fastdfsv1.GetFileInfoRequest{FileId: id})
		if err != nil {
			t.Fatal(err)
		}
		fi := resp.GetFile()
		if fi.GetFileId() != id || fi.GetGroup() != "group1" || fi.GetSize() != int64(len(content)) ||
			fi.GetKind() != fastdfsv1.FileKind_FILE_KIND_NORMAL || fi.GetSourceIp() != e.c.Storages[0].IP ||
			fi.GetCreateTime().AsTime().IsZero() {
			t.Fatalf("file info %v", fi)
		}
	})

	t.Run("download ranges", func(t *testing.T) {
		n := int64(len(content))
		tests := []struct {
			name           string
			offset, length int64
			want           []byte
		}{
			{"whole", 0, 0, content},
			{"prefix", 0, 10, content[:10]},
			{"middle across chunks", 1<<20 - 5, 3 << 20, content[1<<20-5 : 4<<20-5]},
			{"tail", n - 100, 0, content[n-100:]},
			{"last byte", n - 1, 1, content[n-1:]},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := e.download(t, id, tc.offset, tc.length)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, tc.want) {
					t.Fatalf("got %d bytes, want %d", len(got), len(tc.want))
				}
			})
		}
	})

	getMeta := func(t *testing.T) map[string]string {
		t.Helper()
		resp, err := e.files.GetMetadata(opCtx(t), &fastdfsv1.GetMetadataRequest{FileId: id})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetMetadata()
	}
	t.Run("metadata", func(t *testing.T) {
		if got := getMeta(t); !maps.Equal(got, meta) {
			t.Fatalf("metadata after upload %v, want %v", got, meta)
		}
		steps := []struct {
			name string
			mode fastdfsv1.SetMetadataMode
			set  map[string]string
			want map[string]string
		}{
			{"merge", fastdfsv1.SetMetadataMode_SET_METADATA_MODE_MERGE, map[string]string{"width": "800", "height": "600"},
				map[string]string{"width": "800", "height": "600", "author": "fdfs"}},
			{"overwrite", fastdfsv1.SetMetadataMode_SET_METADATA_MODE_OVERWRITE, map[string]string{"color": "red"},
				map[string]string{"color": "red"}},
			{"overwrite with nothing", fastdfsv1.SetMetadataMode_SET_METADATA_MODE_OVERWRITE, nil, map[string]string{}},
		}
		for _, st := range steps {
			if _, err := e.files.SetMetadata(opCtx(t), &fastdfsv1.SetMetadataRequest{FileId: id, Metadata: st.set, Mode: st.mode}); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if got := getMeta(t); !maps.Equal(got, st.want) {
				t.Fatalf("%s: metadata %v, want %v", st.name, got, st.want)
			}
		}
	})

	t.Run("delete", func(t *testing.T) {
		if _, err := e.files.DeleteFile(opCtx(t), &fastdfsv1.DeleteFileRequest{FileId: id}); err != nil {
			t.Fatal(err)
		}
		_, err := e.files.GetFileInfo(opCtx(t), &fastdfsv1.GetFileInfoRequest{FileId: id})
		info := wantStatus(t, err, codes.NotFound, grpcapi.ReasonFileNotFound, id)
		if info.GetMetadata()["fastdfs_status"] != "2" {
			t.Fatalf("ErrorInfo metadata %v, want fastdfs_status 2", info.GetMetadata())
		}
		_, err = e.download(t, id, 0, 0)
		wantStatus(t, err, codes.NotFound, grpcapi.ReasonFileNotFound, id)
		_, err = e.files.DeleteFile(opCtx(t), &fastdfsv1.DeleteFileRequest{FileId: id})
		wantStatus(t, err, codes.NotFound, grpcapi.ReasonFileNotFound, id)
	})
}

// TestDownloadWithStandardCodec: the services also work on a server
// without the gateway's codec, which then copies each chunk.
func TestDownloadWithStandardCodec(t *testing.T) {
	t.Parallel()
	e := startServer(t, cluster.Options{Storages: 1}, nil)
	content := randomBytes(3<<20 + 7)
	id := e.upload(t, &fastdfsv1.UploadSpec{Ext: "bin"}, content)
	for range 3 { // chunk buffers are recycled between calls
		got, err := e.download(t, id, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, content) {
			t.Fatalf("downloaded %d bytes that differ from the %d uploaded", len(got), len(content))
		}
	}
}

func TestEmptyFileAndSlave(t *testing.T) {
	t.Parallel()
	e := start(t, cluster.Options{Storages: 1}, nil)
	empty := e.upload(t, &fastdfsv1.UploadSpec{}, nil)
	e.wantContent(t, empty, nil)

	master := randomBytes(1000)
	masterID := e.upload(t, &fastdfsv1.UploadSpec{Ext: "png"}, master)
	thumb := randomBytes(300)
	slaveID := e.upload(t, &fastdfsv1.UploadSpec{
		Kind: fastdfsv1.FileKind_FILE_KIND_SLAVE, MasterFileId: masterID, Prefix: "_150x150",
		Metadata: map[string]string{"size": "150x150"},
	}, thumb)
	if want := masterID[:len(masterID)-len(".png")] + "_150x150.png"; slaveID != want {
		t.Fatalf("slave ID %s, want %s", slaveID, want)
	}
	e.wantContent(t, slaveID, thumb)
	fi, err := e.files.GetFileInfo(opCtx(t), &fastdfsv1.GetFileInfoRequest{FileId: slaveID})
	if err != nil || fi.GetFile().GetKind() != fastdfsv1.FileKind_FILE_KIND_SLAVE {
		t.Fatalf("slave info %v, %v", fi, err)
	}
	md, err := e.files.GetMetadata(opCtx(t), &fastdfsv1.GetMetadataRequest{FileId: slaveID})
	if err != nil || md.GetMetadata()["size"] != "150x150" {
		t.Fatalf("slave metadata %v, %v", md, err)
	}
	// A file without metadata has empty metadata, not NOT_FOUND.
	md, err = e.files.GetMetadata(opCtx(t), &fastdfsv1.GetMetadataRequest{FileId: masterID})
	if err != nil || len(md.GetMetadata()) != 0 {
		t.Fatalf("metadata of a file without any: %v, %v", md, err)
	}
	// The same slave again: the name is taken.
	_, err = e.uploadRaw(t, &fastdfsv1.UploadSpec{
		Kind: fastdfsv1.FileKind_FILE_KIND_SLAVE, MasterFileId: masterID, Prefix: "_150x150", Size: 3,
	}, [][]byte{[]byte("abc")})
	wantStatus(t, err, codes.AlreadyExists, "ALREADY_EXISTS", "")
}

func TestAppenderFile(t *testing.T) {
	t.Parallel()
	e := start(t, cluster.Options{Storages: 1}, nil)
	want := randomBytes(3<<20 + 7)
	id := e.upload(t, &fastdfsv1.UploadSpec{Kind: fastdfsv1.FileKind_FILE_KIND_APPENDER, Ext: "log"}, want)

	appendData := func(t *testing.T, data []byte) {
		t.Helper()
		st, err := e.files.AppendFile(opCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		msgs := []*fastdfsv1.AppendFileRequest{{Data: &fastdfsv1.AppendFileRequest_Spec{Spec: &fastdfsv1.AppendSpec{FileId: id, Size: int64(len(data))}}}}
		for _, c := range chunks(data, grpcapi.MaxChunkSize) {
			msgs = append(msgs, &fastdfsv1.AppendFileRequest{Data: &fastdfsv1.AppendFileRequest_Chunk{Chunk: c}})
		}
		for _, m := range msgs {
			if err := st.Send(m); err != nil {
				t.Fatal(closeAndRecvErr(st, err))
			}
		}
		resp, err := st.CloseAndRecv()
		if err != nil || resp.GetSize() != int64(len(data)) {
			t.Fatalf("append: %v, %v", resp, err)
		}
	}
	modify := func(t *testing.T, offset int64, data []byte) error {
		t.Helper()
		st, err := e.files.ModifyFile(opCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		msgs := []*fastdfsv1.ModifyFileRequest{{Data: &fastdfsv1.ModifyFileRequest_Spec{Spec: &fastdfsv1.ModifySpec{FileId: id, Offset: offset, Size: int64(len(data))}}}}
		for _, c := range chunks(data, 100<<10) {
			msgs = append(msgs, &fastdfsv1.ModifyFileRequest{Data: &fastdfsv1.ModifyFileRequest_Chunk{Chunk: c}})
		}
		for _, m := range msgs {
			if err := st.Send(m); err != nil {
				return closeAndRecvErr(st, err)
			}
		}
		_, err = st.CloseAndRecv()
		return err
	}

	more := randomBytes(5<<20 + 1) // three chunks of at most 2 MiB
	appendData(t, more)
	want = append(want, more...)
	e.wantContent(t, id, want)

	patch := randomBytes(300 << 10)
	if err := modify(t, 1000, patch); err != nil {
		t.Fatalf("modify: %v", err)
	}
	copy(want[1000:], patch)
	e.wantContent(t, id, want)

	// Modify may grow the file from its end.
	tail := randomBytes(4096)
	if err := modify(t, int64(len(want)), tail); err != nil {
		t.Fatalf("modify at the end: %v", err)
	}
	want = append(want, tail...)
	e.wantContent(t, id, want)

	err := modify(t, int64(len(want))+1, []byte("x"))
	wantStatus(t, err, codes.OutOfRange, grpcapi.ReasonOutOfRange, id)

	if _, err := e.files.TruncateFile(opCtx(t), &fastdfsv1.TruncateFileRequest{FileId: id, Size: 12345}); err != nil {
		t.Fatalf("truncate: %v", err)
	}
	want = want[:12345]
	e.wantContent(t, id, want)

	resp, err := e.files.RegenerateAppenderFile(opCtx(t), &fastdfsv1.RegenerateAppenderFileRequest{FileId: id})
	if err != nil {
		t.Fatalf("regenerate: %v", err)
	}
	newID := resp.GetFileId()
	if newID == id {
		t.Fatal("regenerate kept the file ID")
	}
	e.wantContent(t, newID, want)
	fi, err := e.files.GetFileInfo(opCtx(t), &fastdfsv1.GetFileInfoRequest{FileId: newID})
	if err != nil || fi.GetFile().GetKind() != fastdfsv1.FileKind_FILE_KIND_NORMAL {
		t.Fatalf("regenerated info %v, %v", fi, err)
	}
	_, err = e.files.TruncateFile(opCtx(t), &fastdfsv1.TruncateFileRequest{FileId: newID, Size: 1})
	if err == nil {
		t.Fatal("truncating a normal file succeeded")
	}
}
