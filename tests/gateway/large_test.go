package gateway

import (
	"encoding/json"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"
)

const (
	largeSize = 1 << 30 // bytes uploaded and downloaded through REST
	// maxHeapGrowth bounds the live heap's peak above its level before the
	// transfer. The cluster, the gateway and the HTTP client all run in
	// this process: any of them buffering the file would exceed it by far.
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

const heapMetric = "/memory/classes/heap/objects:bytes"

func heapNow() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heapSampler records the peak of the live heap objects while it runs.
type heapSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
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

// TestLargeREST uploads and downloads 1 GiB through the REST routes from a
// generator (never a buffer of the file), checks the CRC32 both ways, a
// ranged read near the end, and that the heap does not grow with the size.
func TestLargeREST(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB transfer skipped in -short mode")
	}
	e := startEnv(t, nil)
	runtime.GC()
	base := heapNow()
	sampler := startHeapSampler()
	peak := uint64(0)
	defer func() {
		if peak == 0 {
			sampler.Stop()
		}
	}()

	up := crc32.NewIEEE()
	req, _ := http.NewRequest("POST", e.url("/v1/files?ext=bin"), io.TeeReader(newGenReader(9, largeSize), up))
	req.ContentLength = largeSize
	req.Header.Set("Authorization", "Bearer "+rwKey)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var r struct{ FileID, Size string }
	json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if resp.StatusCode != 201 || r.Size != strconv.Itoa(largeSize) {
		t.Fatalf("upload: %s %+v", resp.Status, r)
	}

	req, _ = http.NewRequest("GET", e.url("/v1/files/"+r.FileID+":download"), nil)
	req.Header.Set("Authorization", "Bearer "+roKey)
	resp, err = httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	down := crc32.NewIEEE()
	n, err := io.Copy(down, resp.Body)
	resp.Body.Close()
	if err != nil || n != largeSize || resp.ContentLength != largeSize {
		t.Fatalf("download: %d bytes (Content-Length %d), %v", n, resp.ContentLength, err)
	}
	peak = sampler.Stop()
	if down.Sum32() != up.Sum32() {
		t.Fatalf("download crc %08x, upload crc %08x", down.Sum32(), up.Sum32())
	}

	// The last 1 MiB + 1 byte, as a range.
	resp, body := e.download(t, r.FileID, map[string]string{"Range": "bytes=-1048577"})
	if resp.StatusCode != 206 || len(body) != 1<<20+1 ||
		resp.Header.Get("Content-Range") != "bytes 1072693247-1073741823/1073741824" {
		t.Fatalf("range: %s, %d bytes, %s", resp.Status, len(body), resp.Header.Get("Content-Range"))
	}
	tail := newGenReader(9, largeSize)
	io.CopyN(io.Discard, tail, largeSize-(1<<20+1))
	want, _ := io.ReadAll(tail)
	if string(want) != string(body) {
		t.Fatal("ranged content differs")
	}

	growth := int64(peak) - int64(base)
	t.Logf("heap: %d MiB before, peak %d MiB during the 1 GiB upload and download", base>>20, peak>>20)
	if growth > maxHeapGrowth {
		t.Errorf("heap grew by %d MiB, want < %d MiB", growth>>20, maxHeapGrowth>>20)
	}
}
