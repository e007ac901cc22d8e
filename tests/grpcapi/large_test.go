package grpcapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"io"
	"math/rand/v2"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/fdfsgo/fdfs/apiclient"
	fastdfsv1 "github.com/fdfsgo/fdfs/gen/fastdfs/v1"
	"github.com/fdfsgo/fdfs/server/grpcapi"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

const (
	largeSize = 256 << 20 // bytes streamed each way
	// heapBound is the most live heap the whole test process (gRPC client,
	// gRPC server, engine and storage server) may use while the file moves,
	// in bytes: far below largeSize, so holding the file anywhere fails.
	heapBound = 96 << 20
)

// heapWatch samples the live heap until stopped and keeps the maximum. It
// may miss a short peak but never reports one that did not happen.
type heapWatch struct {
	stop chan struct{}
	wg   sync.WaitGroup
	max  uint64
}

func watchHeap() *heapWatch {
	h := &heapWatch{stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			h.max = max(h.max, s[0].Value.Uint64())
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

func (h *heapWatch) Stop() uint64 {
	close(h.stop)
	h.wg.Wait()
	return h.max
}

// TestLargeStream uploads and downloads 256 MiB of generated content through
// the gRPC streams and checks content (SHA-256) and peak heap. It does not
// run in parallel, so the heap is this test's alone.
func TestLargeStream(t *testing.T) {
	e := start(t, cluster.Options{Storages: 1}, nil)
	watch := watchHeap()

	src := newGenerator()
	sent := sha256.New()
	st, err := e.files.UploadFile(opCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Spec{Spec: &fastdfsv1.UploadSpec{Ext: "bin", Size: largeSize}}}); err != nil {
		t.Fatal(closeAndRecvErr(st, err))
	}
	chunk := make([]byte, grpcapi.MaxChunkSize)
	for left := largeSize; left > 0; left -= len(chunk) {
		chunk = chunk[:min(left, len(chunk))]
		src.Read(chunk)
		sent.Write(chunk)
		if err := st.Send(&fastdfsv1.UploadFileRequest{Data: &fastdfsv1.UploadFileRequest_Chunk{Chunk: chunk}}); err != nil {
			t.Fatal(closeAndRecvErr(st, err))
		}
	}
	resp, err := st.CloseAndRecv()
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	id := resp.GetFileId()

	got := sha256.New()
	dl, err := e.files.DownloadFile(opCtx(t), &fastdfsv1.DownloadFileRequest{FileId: id})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for {
		m, err := dl.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("download after %d bytes: %v", n, err)
		}
		n += int64(len(m.GetChunk()))
		got.Write(m.GetChunk())
	}
	checkLarge(t, watch, largeSize, n, sent, got)

	// A ranged read deep inside the large file.
	const offset, length = largeSize - 3<<20 - 11, 2 << 20
	part, err := e.download(t, id, offset, length)
	if err != nil {
		t.Fatalf("ranged read: %v", err)
	}
	want := make([]byte, length)
	g := newGenerator()
	if _, err := io.CopyN(io.Discard, g, offset); err != nil {
		t.Fatal(err)
	}
	g.Read(want)
	if !bytes.Equal(part, want) {
		t.Fatalf("ranged read: %d bytes differ from the uploaded ones", len(part))
	}
}

// generator is an endless deterministic pseudo-random byte stream, so the
// test never holds the large file to compare it.
type generator struct {
	src  *rand.ChaCha8
	left []byte
	word [8]byte
}

func newGenerator() *generator { return &generator{src: rand.NewChaCha8([32]byte{1, 2, 3})} }

func (g *generator) Read(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(g.left) == 0 {
			binary.LittleEndian.PutUint64(g.word[:], g.src.Uint64())
			g.left = g.word[:]
		}
		m := copy(p, g.left)
		p, g.left = p[m:], g.left[m:]
	}
	return n, nil
}

// TestLargeAPIClient moves 1 GiB each way through apiclient (Upload from a
// reader, Download into a writer) on a connection with its DialOptions,
// checking content (SHA-256) and peak heap as TestLargeStream does.
func TestLargeAPIClient(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB transfer skipped in -short mode")
	}
	const size = 1 << 30
	e := start(t, cluster.Options{Storages: 1}, nil)
	conn, err := grpc.NewClient(e.addr, append(apiclient.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	files := fastdfsv1.NewFileServiceClient(conn)
	watch := watchHeap()

	sent := sha256.New()
	resp, err := apiclient.Upload(opCtx(t), files, &fastdfsv1.UploadSpec{Ext: "bin", Size: size}, io.TeeReader(io.LimitReader(newGenerator(), size), sent))
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	got := sha256.New()
	n, err := apiclient.Download(opCtx(t), files, &fastdfsv1.DownloadFileRequest{FileId: resp.GetFileId()}, got)
	if err != nil {
		t.Fatalf("download after %d bytes: %v", n, err)
	}
	checkLarge(t, watch, size, n, sent, got)
}

// checkLarge ends a large round trip: n bytes came back with the digest
// got of the size bytes sent with digest sent, and the heap stayed under
// heapBound meanwhile.
func checkLarge(t *testing.T, watch *heapWatch, size, n int64, sent, got hash.Hash) {
	t.Helper()
	peak := watch.Stop()
	if n != size || !bytes.Equal(got.Sum(nil), sent.Sum(nil)) {
		t.Fatalf("downloaded %d of %d bytes, sha256 match %v", n, size, bytes.Equal(got.Sum(nil), sent.Sum(nil)))
	}
	t.Logf("peak live heap %d MiB while streaming %d MiB each way", peak>>20, size>>20)
	if peak > heapBound {
		t.Fatalf("peak live heap %d MiB exceeds %d MiB", peak>>20, heapBound>>20)
	}
}
