package listing

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/server/fileops"
	"github.com/fdfsgo/fdfs/tests/cluster"
)

// TestListGroupBench lists a group of two storages holding
// FDFS_BENCH_LIST files each (the same files, as replicas would) through
// the gateway's file operations (tracker query, LIST_FILES to both
// storages, merge, page tokens): time to the first page and pages per
// second of a whole listing. The files are created empty with generated
// names while the storages are stopped (uploading a million takes too
// long). Figures in docs/benchmarks.md; it asserts nothing about speed.
func TestListGroupBench(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("FDFS_BENCH_LIST"))
	if n <= 0 {
		t.Skip("set FDFS_BENCH_LIST=<files> to run the group listing benchmark")
	}
	c := cluster.Start(t, cluster.Options{Storages: 2, SubdirCount: 256})
	for i := range c.Storages {
		c.StopStorage(i)
	}
	r := rand.New(rand.NewPCG(1, 1))
	start := time.Now()
	for i := range n {
		name, err := fileid.Generate(0, r.IntN(256), r.IntN(256), fileid.Fields{
			Source: fileid.Source{127, 0, 0, 1}, Timestamp: 1_700_000_000 + int64(i/100), Size: int64(r.IntN(1 << 20)), CRC32: r.Uint32(),
		}, "jpg")
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := fileid.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range c.Storages {
			if err := os.WriteFile(parsed.Path(s.StorePaths), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("created %d files on each of 2 storages in %v", n, time.Since(start).Round(time.Millisecond))
	for i := range c.Storages {
		c.StartStorage(i)
	}
	c.WaitActive()
	f := fileops.New(c.Client, nil)
	for _, newest := range []bool{true, false} {
		req := fileops.ListRequest{Group: "group1", StorePath: -1, Newest: newest, PageSize: fileops.MaxPageSize}
		start := time.Now()
		var first time.Duration
		pages, files := 0, 0
		for {
			p, err := f.ListFiles(opCtx(t), req)
			if err != nil {
				t.Fatal(err)
			}
			if pages == 0 {
				first = time.Since(start)
			}
			pages++
			files += len(p.Files)
			if p.NextToken == "" {
				break
			}
			req.PageToken = p.NextToken
		}
		d := time.Since(start)
		if files != n {
			t.Fatalf("listed %d files, want %d", files, n)
		}
		t.Logf("newest %t: first page after %v (the first listing after the start also waits for the walks); %d pages in %v: %.0f pages/s",
			newest, first.Round(time.Microsecond), pages, d.Round(time.Millisecond), float64(pages)/d.Seconds())
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("heap in use of the process (tracker, both storages, client): %.0f MiB", float64(ms.HeapInuse)/(1<<20))
}
