package e2e

import (
	"crypto/sha256"
	"hash"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

const (
	largeSize = 256 << 20 // bytes uploaded and downloaded
	// maxHeapGrowth bounds the live heap's peak above its level before the
	// transfer. Everything runs in this process (client, tracker, both
	// storages, the sync between them), so a server or client that buffered
	// the file would exceed it by far.
	maxHeapGrowth = 64 << 20
)

// genReader yields n deterministic pseudo-random bytes without holding them.
type genReader struct {
	src *rand.ChaCha8
	n   int64
}

func newGenReader(seed byte, n int64) *genReader {
	return &genReader{src: rand.NewChaCha8([32]byte{seed}), n: n}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n {
		p = p[:g.n]
	}
	n, _ := g.src.Read(p)
	g.n -= int64(n)
	return n, nil
}

// heapSampler records the peak of the live heap objects while it runs.
type heapSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func heapNow() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			h.peak = max(h.peak, heapNow())
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	})
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	h.wg.Wait()
	return h.peak
}

// hashWriter hashes what is written to it.
type hashWriter struct {
	sha hash.Hash
	crc hash.Hash32
}

func newHashWriter() *hashWriter { return &hashWriter{sha256.New(), crc32.NewIEEE()} }

func (h *hashWriter) Write(p []byte) (int, error) {
	h.sha.Write(p)
	h.crc.Write(p)
	return len(p), nil
}

// TestLargeFile streams a 256 MiB file up and down from a generator (never
// a buffer of the file), checks its checksum and that the heap does not grow
// with the file size. It does not run in parallel with other tests, so the
// heap numbers are this transfer's.
func TestLargeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("large transfer skipped in -short mode")
	}
	c := cluster.Start(t, cluster.Options{})
	cl := c.Client

	runtime.GC()
	base := heapNow()
	sampler := startHeapSampler()

	up := newHashWriter()
	id, err := cl.Upload(opCtx(t), io.TeeReader(newGenReader(7, largeSize), up), largeSize, client.UploadOptions{Ext: "bin"})
	if err != nil {
		sampler.Stop()
		t.Fatalf("upload: %v", err)
	}
	down := newHashWriter()
	n, err := cl.Download(opCtx(t), id, 0, 0, down)
	if err != nil || n != largeSize {
		sampler.Stop()
		t.Fatalf("download: %d bytes, %v", n, err)
	}
	// Keep sampling while the second storage copies the file.
	waitReplicated(t, c, "group1", id, largeSize)
	peak := sampler.Stop()

	if string(up.sha.Sum(nil)) != string(down.sha.Sum(nil)) {
		t.Fatalf("downloaded content differs from the uploaded content")
	}
	fi, err := cl.GetFileInfo(opCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size != largeSize || fi.CRC32 != up.crc.Sum32() {
		t.Errorf("file info: size %d crc %08x, want %d %08x", fi.Size, fi.CRC32, largeSize, up.crc.Sum32())
	}
	// A ranged read from the middle.
	mid := newHashWriter()
	if n, err := cl.Download(opCtx(t), id, largeSize/2, 1<<20, mid); err != nil || n != 1<<20 {
		t.Fatalf("ranged download: %d, %v", n, err)
	}
	growth := int64(peak) - int64(base)
	t.Logf("heap: %d MiB before, peak %d MiB during the %d MiB transfer", base>>20, peak>>20, largeSize>>20)
	if growth > maxHeapGrowth {
		t.Errorf("heap grew by %d MiB during a %d MiB transfer, want < %d MiB", growth>>20, largeSize>>20, maxHeapGrowth>>20)
	}
	if err := cl.Delete(opCtx(t), id); err != nil {
		t.Fatal(err)
	}
}
