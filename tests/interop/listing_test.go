package interop

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/conf"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
)

// TestListingAndScrubMixedGroup: in a group of an upstream storage and one
// of ours, a listing of the group is refused as not supported (the
// upstream storage answers LIST_FILES with EINVAL, nothing else changes
// for it), ours lists every file, and our scrubber repairs a corrupted
// file from the upstream storage's copy. The upstream storage runs with
// the scrub keys in its storage.conf.
func TestListingAndScrubMixedGroup(t *testing.T) {
	e := newEnv(t)
	// The scrub keys are unknown to the upstream storage: it starts and
	// works with them.
	up := e.newStorage(upstream, "group1", "scrub_bytes_per_second = 1MB", "scrub_pass_interval = 3600")
	our := e.newStorage(ours, "group1")
	tr := e.addTracker(ours)
	up.run(tr)
	our.run(tr)
	e.writeClientConf()
	e.waitActive(up, our)
	var ids []string
	for i := range 4 {
		ids = append(ids, e.upload(e.writeLocal("f"+string(rune('a'+i))+".bin", randBytes(uint64(i), 3000))))
	}
	want := map[string][]byte{}
	for _, id := range ids {
		want[id] = e.waitSameOnDisk(id, up, our)
	}
	cc, err := conf.LoadClient(e.clientConf)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.FromConf(cc)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	q := client.ListQuery{Group: "group1", Filter: protocol.ListFilesRequest{Limit: 100}}
	if _, err := cl.ListFiles(ctx, q); !errors.Is(err, protocol.ErrNotSupported) {
		t.Fatalf("group listing with an upstream storage: %v, want EOPNOTSUPP", err)
	}
	q.Storage = our.idOrIP()
	page, err := cl.ListFiles(ctx, q)
	if err != nil || len(page.Files) != len(ids) || page.More {
		t.Fatalf("our storage lists %+v, %v; want %d files", page, err, len(ids))
	}

	p := our.pathOf(ids[0])
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[10] ^= 0x40
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	req := &protocol.ScrubRequest{Group: "group1", Flags: protocol.ScrubRunNow}
	if _, err := cl.Scrub(ctx, our.addr(), req); err != nil {
		t.Fatal(err)
	}
	req.Flags = 0
	testwait.For(t, time.Minute, "scrub pass", func() error {
		r, err := cl.Scrub(ctx, our.addr(), req)
		if err == nil && (r.Passes != 1 || r.Repaired != 1) {
			err = errors.New("not repaired yet")
		}
		return err
	})
	e.waitOnDisk(ids[0], want[ids[0]], our)
}
