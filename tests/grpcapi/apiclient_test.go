package grpcapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fdfsgo/fdfs/apiclient"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/grpcapi"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// apiclient's Upload and Download against the gateway's services: what one
// stores the standard stubs read back byte for byte and the other way
// round, for sizes around the chunk size, whole and ranged.
func TestAPIClient(t *testing.T) {
	e := start(t, cluster.Options{Storages: 1}, nil)
	ctx := opCtx(t)
	for _, size := range []int{0, 1, apiclient.ChunkSize - 1, apiclient.ChunkSize, apiclient.ChunkSize + 1, 3<<20 + 5} {
		content := randomBytes(size)
		resp, err := apiclient.Upload(ctx, e.files, &fastdfsv1.UploadSpec{Ext: "bin", Size: int64(size)}, bytes.NewReader(content))
		if err != nil {
			t.Fatalf("upload %d bytes: %v", size, err)
		}
		if resp.GetSize() != int64(size) {
			t.Fatalf("upload %d bytes: stored %d", size, resp.GetSize())
		}
		id := resp.GetFileId()
		e.wantContent(t, id, content)

		// A file the standard stubs stored (in 256 KiB chunks) is the
		// same through Download.
		other := e.upload(t, &fastdfsv1.UploadSpec{Ext: "bin"}, content)
		for _, fid := range []string{id, other} {
			var got bytes.Buffer
			n, err := apiclient.Download(ctx, e.files, &fastdfsv1.DownloadFileRequest{FileId: fid}, &got)
			if err != nil || n != int64(size) || !bytes.Equal(got.Bytes(), content) {
				t.Fatalf("download %s (%d bytes): %d bytes, %v; content equal %v", fid, size, n, err, bytes.Equal(got.Bytes(), content))
			}
		}
		if size < 3 {
			continue
		}
		offset, length := int64(size/3), int64(size/3+1)
		var got bytes.Buffer
		n, err := apiclient.Download(ctx, e.files, &fastdfsv1.DownloadFileRequest{FileId: id, Offset: offset, Length: length}, &got)
		if err != nil || n != length || !bytes.Equal(got.Bytes(), content[offset:offset+length]) {
			t.Fatalf("ranged download [%d,+%d) of %d bytes: %d bytes, %v", offset, length, size, n, err)
		}
	}
}

// failingWriter takes limit bytes and then fails.
type failingWriter struct {
	limit int
	err   error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, w.err
	}
	w.limit -= len(p)
	return len(p), nil
}

// cancelWriter takes everything and cancels its context once it has
// taken after bytes.
type cancelWriter struct {
	after  int
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after <= 0 {
		w.cancel()
	}
	return len(p), nil
}

// failingReader yields limit bytes and then fails.
type failingReader struct {
	limit int
	err   error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.limit == 0 {
		return 0, r.err
	}
	n := min(len(p), r.limit)
	r.limit -= n
	return n, nil
}

// The errors of apiclient: the writer's or reader's own error when they
// fail, the server's status otherwise, and nothing stored for an upload
// whose reader failed, even after several chunks were sent.
func TestAPIClientErrors(t *testing.T) {
	e := start(t, cluster.Options{Storages: 1}, nil)
	ctx := opCtx(t)
	content := randomBytes(3 << 20)
	id := e.upload(t, &fastdfsv1.UploadSpec{Ext: "bin"}, content)

	diskFull := errors.New("disk full")
	w := &failingWriter{limit: 1 << 20, err: diskFull}
	n, err := apiclient.Download(ctx, e.files, &fastdfsv1.DownloadFileRequest{FileId: id}, w)
	if !errors.Is(err, diskFull) || n != 1<<20 {
		t.Fatalf("download into a failing writer: %d bytes, %v", n, err)
	}

	// A caller that gives up mid-download gets the cancellation. The file
	// is larger than what gRPC's flow control (at most 16 MiB per stream)
	// lets the gateway send ahead of the caller.
	big := e.upload(t, &fastdfsv1.UploadSpec{Ext: "bin"}, randomBytes(24<<20))
	cctx, cancel := context.WithCancel(ctx)
	cw := &cancelWriter{after: 1 << 20, cancel: cancel}
	n, err = apiclient.Download(cctx, e.files, &fastdfsv1.DownloadFileRequest{FileId: big}, cw)
	if status.Code(err) != codes.Canceled || n < 1<<20 || n >= 24<<20 {
		t.Fatalf("download cancelled after 1 MiB: %d bytes, %v", n, err)
	}

	_, err = apiclient.Download(ctx, e.files, &fastdfsv1.DownloadFileRequest{FileId: id + "x"}, io.Discard)
	wantStatus(t, err, codes.NotFound, grpcapi.ReasonFileNotFound, id+"x")
	_, err = apiclient.Download(ctx, e.files, &fastdfsv1.DownloadFileRequest{FileId: id, Offset: 3<<20 + 1}, io.Discard)
	wantStatus(t, err, codes.OutOfRange, grpcapi.ReasonOutOfRange, id)

	// A size that does not match the content is the server's to refuse.
	_, err = apiclient.Upload(ctx, e.files, &fastdfsv1.UploadSpec{Ext: "bin", Size: 10}, bytes.NewReader(content[:9]))
	wantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT", "")

	broken := errors.New("source went away")
	resp, err := apiclient.Upload(ctx, e.files, &fastdfsv1.UploadSpec{Ext: "bin", Size: 3 * apiclient.ChunkSize}, &failingReader{limit: 2*apiclient.ChunkSize + 7, err: broken})
	if !errors.Is(err, broken) || resp != nil {
		t.Fatalf("upload from a failing reader: %v, %v", resp, err)
	}
	// Only the two uploads that succeeded are in the store path. The gateway gives up the
	// cancelled upload before answering, but the storage may still be
	// removing its partial file: wait for that.
	eventuallyFiles(t, e, 2)
}

// eventuallyFiles waits up to 10 s for storage 0's first store path to hold
// want files.
func eventuallyFiles(t *testing.T, e *env, want int) {
	t.Helper()
	var stored []string
	for range 1000 {
		if stored = storedFiles(t, e); len(stored) == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("files in the store path: %v, want %d", stored, want)
}
