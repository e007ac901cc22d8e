package listing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/server/fileops"
	"github.com/fdfsgo/fdfs/tests/cluster"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
)

// opTimeout bounds one call, waitLimit a wait for replication: both only
// turn a hang into a failure.
const (
	opTimeout = 30 * time.Second
	waitLimit = 60 * time.Second
)

func opCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	t.Cleanup(cancel)
	return ctx
}

type stored struct {
	id   string
	size int64
	ext  string
}

// populate uploads n files of varied sizes and extensions (every fifth an
// appender file grown by an append) and returns them.
func populate(t *testing.T, c *cluster.Cluster, n int) []stored {
	t.Helper()
	exts := []string{"jpg", "txt", "png"}
	var out []stored
	for i := range n {
		b := payload.Bytes(i, 100*(i%7))
		opt := client.UploadOptions{Ext: exts[i%len(exts)]}
		var (
			id  string
			err error
		)
		size := int64(len(b))
		if i%5 == 4 {
			id, err = c.Client.UploadAppender(opCtx(t), bytes.NewReader(b), size, opt)
			if err == nil {
				err = c.Client.Append(opCtx(t), id, bytes.NewReader([]byte("more")), 4)
				size += 4
			}
		} else {
			id, err = c.Client.Upload(opCtx(t), bytes.NewReader(b), size, opt)
		}
		if err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
		out = append(out, stored{id, size, opt.Ext})
	}
	return out
}

// listAll pages through a listing with the file operations (tokens
// included) and returns the file IDs in order and their sizes.
func listAll(t *testing.T, f *fileops.Files, r fileops.ListRequest) ([]string, map[string]int64) {
	t.Helper()
	var ids []string
	sizes := map[string]int64{}
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("listing does not end")
		}
		p, err := f.ListFiles(opCtx(t), r)
		if err != nil {
			t.Fatalf("list %+v: %v", r, err)
		}
		for _, lf := range p.Files {
			ids = append(ids, lf.FileID)
			sizes[lf.FileID] = lf.Size
		}
		if p.NextToken == "" {
			return ids, sizes
		}
		r.PageToken = p.NextToken
	}
}

// expect returns the IDs of files that pass keep, by name.
func expect(files []stored, keep func(s stored) bool) []string {
	var out []string
	for _, s := range files {
		if keep(s) {
			out = append(out, s.id)
		}
	}
	slices.Sort(out)
	return out
}

func byNewest(ids []string) []string {
	out := slices.Clone(ids)
	slices.SortStableFunc(out, func(a, b string) int {
		_, na, _ := client.DecodeFileID(a)
		_, nb, _ := client.DecodeFileID(b)
		if na.Timestamp != nb.Timestamp {
			return int(nb.Timestamp - na.Timestamp)
		}
		return 0
	})
	return out
}

// waitListing waits until the group listing and that of each of its
// storages is want (by name): every storage holds every file.
func waitListing(t *testing.T, c *cluster.Cluster, f *fileops.Files, want []string) {
	t.Helper()
	testwait.For(t, waitLimit, "listings converge", func() error {
		for _, id := range append([]string{""}, storageIDs(c)...) {
			got, _ := listAll(t, f, fileops.ListRequest{Group: "group1", Storage: id, StorePath: -1, PageSize: 7})
			if !slices.Equal(got, want) {
				return fmt.Errorf("listing of storage %q has %d files, want %d", id, len(got), len(want))
			}
		}
		return nil
	})
}

func storageIDs(c *cluster.Cluster) []string {
	var ids []string
	for _, s := range c.Storages {
		ids = append(ids, s.ID)
	}
	return ids
}

// TestListFiles: the listing of a 2-storage group with every order,
// filter and page size, through deletes, a restart of each storage and a
// storage listed on its own.
func TestListFiles(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 2, StorePaths: 2})
	files := populate(t, c, 40)
	f := fileops.New(c.Client, nil)
	all := expect(files, func(stored) bool { return true })
	waitListing(t, c, f, all)

	_, sizes := listAll(t, f, fileops.ListRequest{Group: "group1", StorePath: -1})
	for _, s := range files {
		if sizes[s.id] != s.size {
			t.Errorf("%s listed with %d bytes, stored %d", s.id, sizes[s.id], s.size)
		}
	}
	_, n0, _ := client.DecodeFileID(files[0].id)
	cases := []struct {
		name string
		req  fileops.ListRequest
		want []string
	}{
		{"newest first", fileops.ListRequest{Newest: true, PageSize: 3}, byNewest(all)},
		{"ext", fileops.ListRequest{Ext: "png", PageSize: 2}, expect(files, func(s stored) bool { return s.ext == "png" })},
		{"size", fileops.ListRequest{MinSize: 200, MaxSize: 404},
			expect(files, func(s stored) bool { return s.size >= 200 && s.size <= 404 })},
		{"store path", fileops.ListRequest{StorePath: 1}, expect(files, func(s stored) bool {
			_, n, _ := client.DecodeFileID(s.id)
			return n.StorePathIndex == 1
		})},
		{"created before the first", fileops.ListRequest{CreatedTo: time.Unix(n0.Timestamp, 0)}, nil},
		{"created from the first", fileops.ListRequest{CreatedFrom: time.Unix(n0.Timestamp, 0), PageSize: 1000}, all},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Group = "group1"
			if tc.req.StorePath == 0 {
				tc.req.StorePath = -1
			}
			got, _ := listAll(t, f, tc.req)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %d files %v\nwant %d %v", len(got), got, len(tc.want), tc.want)
			}
		})
	}

	// Deleted files disappear from the listing of the group.
	for _, s := range files[:6] {
		if err := c.Client.Delete(opCtx(t), s.id); err != nil {
			t.Fatal(err)
		}
	}
	files = files[6:]
	all = expect(files, func(stored) bool { return true })
	waitListing(t, c, f, all)

	// Each storage lists the same files on its own, and again after a
	// restart (the index is rebuilt from its store paths).
	for i, s := range c.Storages {
		c.StopStorage(i)
		c.StartStorage(i)
		c.WaitActive()
		testwait.For(t, waitLimit, "storage listing", func() error {
			got, _ := listAll(t, f, fileops.ListRequest{Group: "group1", Storage: s.ID, StorePath: -1, PageSize: 5})
			if !slices.Equal(got, all) {
				return fmt.Errorf("storage %s lists %d files, want %d", s.ID, len(got), len(all))
			}
			return nil
		})
	}
}

// TestListPageTokens: a token is refused with other filters or when it
// is not one; a bad request is INVALID_ARGUMENT.
func TestListPageTokens(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 1})
	populate(t, c, 5)
	f := fileops.New(c.Client, nil)
	p, err := f.ListFiles(opCtx(t), fileops.ListRequest{Group: "group1", StorePath: -1, PageSize: 2})
	if err != nil || p.NextToken == "" || len(p.Files) != 2 {
		t.Fatalf("first page: %+v, %v", p, err)
	}
	bad := []fileops.ListRequest{
		{Group: "group1", StorePath: -1, Ext: "jpg", PageToken: p.NextToken},
		{Group: "group1", StorePath: -1, PageToken: "not-a-token"},
		{Group: "group1", StorePath: -1, PageSize: 5000},
		{Group: "bad/group", StorePath: -1},
		{Group: "group1", StorePath: 0, Prefix: "M01/"},
		{Group: "group1", StorePath: -1, MinSize: 10, MaxSize: 5},
	}
	for _, r := range bad {
		if _, err := f.ListFiles(opCtx(t), r); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%+v: got %v, want INVALID_ARGUMENT", r, err)
		}
	}
	// The same token with another page size goes on where it left off.
	p2, err := f.ListFiles(opCtx(t), fileops.ListRequest{Group: "group1", StorePath: -1, PageSize: 10, PageToken: p.NextToken})
	if err != nil || len(p2.Files) != 3 || p2.NextToken != "" {
		t.Fatalf("second page: %+v, %v", p2, err)
	}
}

// TestListAfterRecovery: a storage whose store path was wiped while it
// was down lists every file again once disk recovery restored them.
func TestListAfterRecovery(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 2})
	files := populate(t, c, 12)
	f := fileops.New(c.Client, nil)
	all := expect(files, func(stored) bool { return true })
	waitListing(t, c, f, all)
	victim := c.Storages[1]
	c.StopStorage(1)
	for _, p := range victim.StorePaths {
		if err := os.RemoveAll(filepath.Join(p, "data")); err != nil {
			t.Fatal(err)
		}
	}
	c.StartStorage(1)
	c.WaitActive()
	testwait.For(t, waitLimit, "recovered storage lists every file", func() error {
		got, _ := listAll(t, f, fileops.ListRequest{Group: "group1", Storage: victim.ID, StorePath: -1})
		if !slices.Equal(got, all) {
			return fmt.Errorf("lists %d files, want %d", len(got), len(all))
		}
		return nil
	})
}

// TestListFilesAtBadInput: a storage refuses malformed LIST_FILES bodies
// with EINVAL.
func TestListFilesAtBadInput(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 1})
	addr := c.Storages[0].Addr()
	for _, req := range []protocol.ListFilesRequest{
		{Group: "group1", Limit: 0},
		{Group: "group1", Limit: protocol.MaxListLimit + 1},
		{Group: "group1", Limit: 1, Order: 7},
		{Group: "other", Limit: 1},
	} {
		if _, err := c.Client.ListFilesAt(opCtx(t), addr, &req); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("%+v: got %v, want EINVAL", req, err)
		}
	}
}
