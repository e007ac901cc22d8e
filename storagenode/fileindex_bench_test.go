package storagenode

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fdfsnet"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// TestListBench measures listing a storage of FDFS_BENCH_LIST files
// (e.g. 1000000): the walk that builds the index at start, its heap, the
// time to the first page and the pages per second of whole listings over
// LIST_FILES. The files are created empty with generated names (the
// listing reads names, not content), since uploading a million takes
// too long. Figures in docs/benchmarks.md; it asserts nothing about speed.
func TestListBench(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("FDFS_BENCH_LIST"))
	if n <= 0 {
		t.Skip("set FDFS_BENCH_LIST=<files> to run the listing benchmark")
	}
	cfg := testConfig(t)
	cfg.SubdirCountPerPath = 256
	s, err := New(cfg, nil) // creates the data directories
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	r := rand.New(rand.NewPCG(1, 1))
	start := time.Now()
	for i := range n {
		name, err := fileid.Generate(0, r.IntN(256), r.IntN(256), fileid.Fields{
			Source: fileid.Source{127, 0, 0, 1}, Timestamp: 1_700_000_000 + int64(i/100), Size: int64(r.IntN(1 << 20)), CRC32: r.Uint32(),
		}, "jpg")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(mustParse(t, name).Path(cfg.StorePaths), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("created %d files in %v", n, time.Since(start).Round(time.Millisecond))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start = time.Now()
	s = startServer(t, cfg)
	<-s.index.ready
	t.Logf("index built by the walk in %v", time.Since(start).Round(time.Millisecond))
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("heap in use: %.0f MiB for the index (%.0f bytes/file)", float64(after.HeapInuse-before.HeapInuse)/(1<<20), float64(after.HeapInuse-before.HeapInuse)/float64(n))

	c, err := (&fdfsnet.Dialer{NetworkTimeout: time.Minute}).Dial(context.Background(), s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, order := range []byte{protocol.ListByNewest, protocol.ListByName} {
		req := protocol.ListFilesRequest{Group: "group1", Order: order, Limit: 1000}
		start := time.Now()
		var first time.Duration
		pages, files := 0, 0
		for {
			b, err := c.RoundTrip(protocol.CmdListFiles, req.Encode(), 1<<24)
			if err != nil {
				t.Fatal(err)
			}
			reply, err := protocol.DecodeListFilesReply(b)
			if err != nil {
				t.Fatal(err)
			}
			if pages == 0 {
				first = time.Since(start)
			}
			pages++
			files += len(reply.Entries)
			if reply.End {
				break
			}
			req.After = reply.Through
		}
		d := time.Since(start)
		if files != n {
			t.Fatalf("listed %d files, want %d", files, n)
		}
		t.Logf("order %d: first page (1000 files) after %v; %d pages in %v: %.0f pages/s", order, first.Round(time.Microsecond), pages, d.Round(time.Millisecond), float64(pages)/d.Seconds())
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("heap in use with both sorted views: %.0f MiB (%.0f bytes/file)", float64(after.HeapInuse-before.HeapInuse)/(1<<20), float64(after.HeapInuse-before.HeapInuse)/float64(n))
}
