package storagenode

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/storagenode/binlog"
)

// indexName makes a valid normal file name with the given create time
// and size.
func indexName(t *testing.T, r *rand.Rand, ts, size int64) string {
	t.Helper()
	n, err := fileid.Generate(r.IntN(2), r.IntN(4), r.IntN(4), fileid.Fields{
		Source: fileid.Source{127, 0, 0, 1}, Timestamp: ts, Size: size, CRC32: r.Uint32(),
	}, []string{"", "jpg", "txt"}[r.IntN(3)])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// pageAll pages through the index with limit entries per request.
func pageAll(ix *fileIndex, req protocol.ListFilesRequest) []string {
	var out []string
	for {
		r := ix.page(&req)
		for _, e := range r.Entries {
			out = append(out, e.Name)
		}
		if r.End {
			return out
		}
		req.After = r.Through
	}
}

// TestFileIndexPages: every order, filter and page size of the index
// against a brute-force listing of the same files, while files come and
// go between the pages' views (the merged views must equal a full sort).
func TestFileIndexPages(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ix := newFileIndex()
	ix.finish(nil)
	live := map[string]indexEntry{}
	for round := range 6 {
		for range 300 {
			ts, size := int64(1_700_000_000+r.IntN(50)), int64(r.IntN(1000))
			name := indexName(t, r, ts, size)
			ix.apply(indexEvent{add: true, name: name, time: ts, size: size})
			live[name] = indexEntry{time: ts, size: size}
		}
		for name := range live {
			if r.IntN(4) == 0 {
				ix.apply(indexEvent{name: name})
				delete(live, name)
			}
		}
		reqs := []protocol.ListFilesRequest{
			{Order: protocol.ListByName, Limit: 7},
			{Order: protocol.ListByNewest, Limit: 13},
			{Order: protocol.ListByNewest, Limit: 1000, Ext: "jpg", MinSize: 100, MaxSize: 600},
			{Order: protocol.ListByName, Limit: 1, Prefix: "M01/", CreatedFrom: 1_700_000_010, CreatedTo: 1_700_000_020},
		}
		for _, req := range reqs {
			t.Run(fmt.Sprintf("round %d %+v", round, req), func(t *testing.T) {
				var want []indexRef
				for name, e := range live {
					if matches(&req, name, e) {
						want = append(want, indexRef{e.time, name})
					}
				}
				slices.SortFunc(want, func(a, b indexRef) int { return less(req.Order, a, b) })
				var wantNames []string
				for _, w := range want {
					wantNames = append(wantNames, w.name)
				}
				if got := pageAll(ix, req); !slices.Equal(got, wantNames) {
					t.Fatalf("got %d names, want %d", len(got), len(wantNames))
				}
			})
		}
	}
}

// TestFileIndexQueuesDuringBuild: changes that come while the walk runs
// win over what the walk saw.
func TestFileIndexQueuesDuringBuild(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a, b := indexName(t, r, 10, 1), indexName(t, r, 20, 2)
	ix := newFileIndex()
	ix.apply(indexEvent{name: a})                               // deleted after the walk saw it
	ix.apply(indexEvent{add: true, name: b, time: 20, size: 2}) // created after the walk passed
	ix.finish([]indexEvent{{add: true, name: a, time: 10, size: 1}})
	got := pageAll(ix, protocol.ListFilesRequest{Order: protocol.ListByName, Limit: 10})
	if !slices.Equal(got, []string{b}) {
		t.Fatalf("index after build %v, want [%s]", got, b)
	}
}

// TestFileIndexChangesDuringSort: changes made while a view is first
// sorted (outside the lock) are in the view afterwards.
func TestFileIndexChangesDuringSort(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ix := newFileIndex()
	var walked []indexEvent
	live := map[string]bool{}
	for range 20000 {
		name := indexName(t, r, int64(r.IntN(100)), 1)
		walked = append(walked, indexEvent{add: true, name: name, time: 1, size: 1})
		live[name] = true
	}
	ix.finish(walked)
	var late []indexEvent
	for i := range 2000 {
		name := indexName(t, r, int64(r.IntN(100)), 1)
		late = append(late, indexEvent{add: true, name: name, time: 1, size: 1}, indexEvent{name: walked[i].name})
		live[name] = true
		delete(live, walked[i].name)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, ev := range late {
			ix.apply(ev)
		}
	}()
	ix.page(&protocol.ListFilesRequest{Order: protocol.ListByName, Limit: 1})
	<-done
	got := pageAll(ix, protocol.ListFilesRequest{Order: protocol.ListByName, Limit: 1000})
	var want []string
	for name := range live {
		want = append(want, name)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("listed %d names, want %d", len(got), len(want))
	}
}

// BenchmarkIndexNote is the cost the index adds to every binlog record
// (an upload's: parse the name, one map insert under the lock).
func BenchmarkIndexNote(b *testing.B) {
	s := startServer(b, testConfig(b))
	<-s.index.ready
	r := rand.New(rand.NewPCG(7, 8))
	names := make([]string, 1<<16)
	for i := range names {
		n, err := fileid.Generate(0, r.IntN(4), r.IntN(4), fileid.Fields{Timestamp: int64(i), Size: 5000, CRC32: r.Uint32()}, "jpg")
		if err != nil {
			b.Fatal(err)
		}
		names[i] = n
	}
	b.ResetTimer()
	for i := range b.N {
		s.note(binlog.OpCreate, names[i%len(names)], "")
	}
}
