package grpcapi

import (
	"bytes"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/fileops"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// appendRaw sends an AppendFile stream of spec and data.
func (e *env) appendRaw(t *testing.T, spec *fastdfsv1.AppendSpec, data []byte) error {
	t.Helper()
	st, err := e.files.AppendFile(opCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&fastdfsv1.AppendFileRequest{Data: &fastdfsv1.AppendFileRequest_Spec{Spec: spec}}); err != nil {
		return closeAndRecvErr(st, err)
	}
	if err := st.Send(&fastdfsv1.AppendFileRequest{Data: &fastdfsv1.AppendFileRequest_Chunk{Chunk: data}}); err != nil {
		return closeAndRecvErr(st, err)
	}
	_, err = st.CloseAndRecv()
	return err
}

func (e *env) info(t *testing.T, id string) *fastdfsv1.FileInfo {
	t.Helper()
	r, err := e.files.GetFileInfo(opCtx(t), &fastdfsv1.GetFileInfoRequest{FileId: id})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetFile()
}

// TestPreconditions: against a real cluster, a retried append with
// expected_size fails instead of appending twice; a delete or metadata
// write with a stale etag changes nothing; the current etag works.
func TestPreconditions(t *testing.T) {
	e := start(t, cluster.Options{Storages: 1}, nil)
	ctx := opCtx(t)
	id := e.upload(t, &fastdfsv1.UploadSpec{Kind: fastdfsv1.FileKind_FILE_KIND_APPENDER, Ext: "log"}, []byte("abc"))

	spec := &fastdfsv1.AppendSpec{FileId: id, Size: 3, ExpectedSize: proto.Int64(3)}
	if err := e.appendRaw(t, spec, []byte("def")); err != nil {
		t.Fatal(err)
	}
	// The reply was lost; the client retries the same request.
	err := e.appendRaw(t, spec, []byte("def"))
	info := wantStatus(t, err, codes.FailedPrecondition, fileops.ReasonSizeMismatch, id)
	if info.GetMetadata()["actual_size"] != "6" || info.GetMetadata()["expected_size"] != "3" {
		t.Errorf("metadata %v", info.GetMetadata())
	}
	e.wantContent(t, id, []byte("abcdef"))

	// Modify and truncate take expected_size too.
	_, err = e.files.TruncateFile(ctx, &fastdfsv1.TruncateFileRequest{FileId: id, Size: 2, ExpectedSize: proto.Int64(3)})
	wantStatus(t, err, codes.FailedPrecondition, fileops.ReasonSizeMismatch, id)
	if _, err := e.files.TruncateFile(ctx, &fastdfsv1.TruncateFileRequest{FileId: id, Size: 4, ExpectedSize: proto.Int64(6)}); err != nil {
		t.Fatal(err)
	}
	e.wantContent(t, id, []byte("abcd"))

	// The etag follows the content.
	fi := e.info(t, id)
	stale := fi.GetEtag()
	if stale == "" || stale[0] != '"' {
		t.Fatalf("etag %q", stale)
	}
	if err := e.appendRaw(t, &fastdfsv1.AppendSpec{FileId: id, Size: 1, ExpectedSize: proto.Int64(4)}, []byte("e")); err != nil {
		t.Fatal(err)
	}
	current := e.info(t, id).GetEtag()
	if current == stale {
		t.Fatalf("etag %s unchanged by an append", current)
	}
	if again := e.info(t, id).GetEtag(); again != current {
		t.Fatalf("etag not stable: %s then %s", current, again)
	}

	meta := map[string]string{"owner": "a"}
	if _, err := e.files.SetMetadata(ctx, &fastdfsv1.SetMetadataRequest{FileId: id, Metadata: meta, Mode: fastdfsv1.SetMetadataMode_SET_METADATA_MODE_OVERWRITE}); err != nil {
		t.Fatal(err)
	}
	_, err = e.files.SetMetadata(ctx, &fastdfsv1.SetMetadataRequest{FileId: id, Metadata: map[string]string{"owner": "b"},
		Mode: fastdfsv1.SetMetadataMode_SET_METADATA_MODE_OVERWRITE, IfMatch: stale})
	info = wantStatus(t, err, codes.FailedPrecondition, fileops.ReasonEtagMismatch, id)
	if info.GetMetadata()["etag"] != current {
		t.Errorf("metadata %v, want etag %s", info.GetMetadata(), current)
	}
	if st := status.Convert(err); len(st.Details()) < 2 {
		t.Errorf("details %v: no PreconditionFailure", st.Details())
	}
	_, err = e.files.DeleteFile(ctx, &fastdfsv1.DeleteFileRequest{FileId: id, IfMatch: stale})
	wantStatus(t, err, codes.FailedPrecondition, fileops.ReasonEtagMismatch, id)
	got, err := e.files.GetMetadata(ctx, &fastdfsv1.GetMetadataRequest{FileId: id})
	if err != nil || got.GetMetadata()["owner"] != "a" {
		t.Fatalf("metadata after the refused write: %v, %v", got.GetMetadata(), err)
	}
	e.wantContent(t, id, []byte("abcde"))

	if _, err := e.files.SetMetadata(ctx, &fastdfsv1.SetMetadataRequest{FileId: id, Metadata: map[string]string{"owner": "b"},
		Mode: fastdfsv1.SetMetadataMode_SET_METADATA_MODE_MERGE, IfMatch: current}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.files.GetMetadata(ctx, &fastdfsv1.GetMetadataRequest{FileId: id}); got.GetMetadata()["owner"] != "b" {
		t.Fatalf("metadata %v", got.GetMetadata())
	}
	if _, err := e.files.DeleteFile(ctx, &fastdfsv1.DeleteFileRequest{FileId: id, IfMatch: current}); err != nil {
		t.Fatal(err)
	}
	_, err = e.files.GetFileInfo(ctx, &fastdfsv1.GetFileInfoRequest{FileId: id})
	wantStatus(t, err, codes.NotFound, "", "")
	// A normal file's etag is the one its download would carry.
	nid := e.upload(t, &fastdfsv1.UploadSpec{Ext: "txt"}, []byte("normal"))
	if _, err := e.files.DeleteFile(ctx, &fastdfsv1.DeleteFileRequest{FileId: nid, IfMatch: e.info(t, nid).GetEtag()}); err != nil {
		t.Fatal(err)
	}
}

// TestIdempotentUpload: an upload repeated with its idempotency key stores
// one file and answers its ID; another key stores another file.
func TestIdempotentUpload(t *testing.T) {
	e := start(t, cluster.Options{Storages: 1}, nil)
	data := bytes.Repeat([]byte("idempotent "), 50_000) // several chunks
	spec := func(key string) *fastdfsv1.UploadSpec {
		return &fastdfsv1.UploadSpec{Ext: "bin", IdempotencyKey: key, Metadata: map[string]string{"k": "v"}}
	}
	before := len(storedFiles(t, e))
	first := e.upload(t, spec("order-42"), data)
	again := e.upload(t, spec("order-42"), data)
	if again != first {
		t.Fatalf("repeat answered %s, want %s", again, first)
	}
	if n := len(storedFiles(t, e)) - before; n != 2 { // the file and its metadata file
		t.Fatalf("%d files stored, want the file and its metadata", n)
	}
	other := e.upload(t, spec("order-43"), data)
	if other == first {
		t.Fatal("another key answered the same file")
	}
	e.wantContent(t, first, data)
	e.wantContent(t, other, data)
	// The same key for another content size is refused.
	s := spec("order-42")
	s.Size = 3
	_, err := e.uploadRaw(t, s, [][]byte{[]byte("abc")})
	wantStatus(t, err, codes.FailedPrecondition, fileops.ReasonIdempotencyKeyReused, "")
	if n := len(storedFiles(t, e)) - before; n != 4 {
		t.Fatalf("%d files stored, want 4 (two files with metadata)", n)
	}
}
