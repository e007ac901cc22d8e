package trunk

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/server/fileops"
	"github.com/fdfsgo/fdfs/storagenode/trunk"
	"github.com/fdfsgo/fdfs/tests/cluster"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
)

// listAt returns the whole listing of storage i by name.
func listAt(t *testing.T, c *cluster.Cluster, i int) (map[string]protocol.ListEntry, error) {
	t.Helper()
	out := map[string]protocol.ListEntry{}
	req := &protocol.ListFilesRequest{Group: "group1", Order: protocol.ListByName, Limit: 7}
	for {
		r, err := c.Client.ListFilesAt(opCtx(t), c.StorageAddrs()[i], req)
		if err != nil {
			return nil, err
		}
		for _, e := range r.Entries {
			out[e.Name] = e
		}
		if r.End {
			return out, nil
		}
		req.After = r.Through
	}
}

// entryOf is the listing entry a stored file must have.
func entryOf(t *testing.T, id string, data []byte) protocol.ListEntry {
	n := parse(t, id)
	return protocol.ListEntry{Name: n.Name(), Time: n.Timestamp, Size: int64(len(data)), CRC32: n.CRC32}
}

// expectListing waits until storage i lists exactly want.
func expectListing(t *testing.T, c *cluster.Cluster, i int, want map[string][]byte, what string) {
	t.Helper()
	exp := map[string]protocol.ListEntry{}
	for id, data := range want {
		e := entryOf(t, id, data)
		exp[e.Name] = e
	}
	testwait.For(t, waitLimit, what, func() error {
		got, err := listAt(t, c, i)
		if err != nil {
			return err
		}
		if !maps.Equal(got, exp) {
			return fmt.Errorf("storage %d lists %d files %v, want %d %v", i, len(got), slices.Sorted(maps.Keys(got)), len(exp), slices.Sorted(maps.Keys(exp)))
		}
		return nil
	})
}

// TestTrunkListing: trunk files are listed by both storages of a group
// and by the group listing of the gateway with their size, time and
// CRC32, as normal files, the trunk containers never; a deleted
// trunk file leaves both listings; the listing is the same after a
// restart, after a disk recovery and after a restart following it.
func TestTrunkListing(t *testing.T) {
	c := startCluster(t, 2)
	ts := trunkServer(t, c)
	victim := 1 - ts
	want := map[string][]byte{}
	var ids []string
	for i := range 12 {
		data := payload.Bytes(i, 1+i*2719%20000)
		id := rawUpload(t, storageAt(t, c, i%2), data)
		if !parse(t, id).Trunk {
			t.Fatalf("%s not in a trunk", id)
		}
		want[id], ids = data, append(ids, id)
	}
	big := payload.Bytes(99, 100<<10) // past slot_max_size: a file of its own
	id := rawUpload(t, storageAt(t, c, victim), big)
	want[id] = big
	waitReplicated(t, c, want, 0, 1)
	if err := c.Client.Delete(opCtx(t), ids[3]); err != nil {
		t.Fatal(err)
	}
	delete(want, ids[3])
	for i := range 2 {
		expectListing(t, c, i, want, "the listing after uploads and a delete")
	}
	// The group listing of the gateway (REST, gRPC and fdfs ls page through it).
	page, err := fileops.New(c.Client, nil).ListFiles(opCtx(t), fileops.ListRequest{Group: "group1", StorePath: -1, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Files) != len(want) || page.NextToken != "" {
		t.Fatalf("group listing: %d files (next %q), want %d", len(page.Files), page.NextToken, len(want))
	}
	for _, lf := range page.Files {
		if data, ok := want[lf.FileID]; !ok || lf.Size != int64(len(data)) || lf.Name.Appender || lf.Name.Slave {
			t.Fatalf("group listing: %s, %d bytes (known %v)", lf.FileID, lf.Size, ok)
		}
	}

	c.StopStorage(victim)
	c.StartStorage(victim)
	c.WaitActive()
	expectListing(t, c, victim, want, "the listing after a restart")

	// Files uploaded while the victim is down reach it only by the
	// recovery (and the trunk server's sync after it): none is in its
	// binlog before.
	c.StopStorage(victim)
	for i := range 5 {
		data := payload.Bytes(50+i, 1+i*3011%20000)
		want[rawUpload(t, storageAt(t, c, ts), data)] = data
	}
	if err := os.RemoveAll(filepath.Join(c.StorageConf(victim).StorePaths[0], "data")); err != nil {
		t.Fatal(err)
	}
	c.StartStorage(victim)
	c.WaitActive()
	waitReplicated(t, c, want, victim)
	expectListing(t, c, victim, want, "the listing after a disk recovery")
	c.StopStorage(victim)
	c.StartStorage(victim)
	c.WaitActive()
	expectListing(t, c, victim, want, "the listing after a restart following the recovery")
}

// scrubNow runs a scrub pass on the storage at addr and returns its report.
func scrubNow(t *testing.T, c *cluster.Cluster, addr string) *protocol.ScrubReport {
	t.Helper()
	before, err := c.Client.Scrub(opCtx(t), addr, &protocol.ScrubRequest{Group: "group1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.Scrub(opCtx(t), addr, &protocol.ScrubRequest{Group: "group1", Flags: protocol.ScrubRunNow}); err != nil {
		t.Fatal(err)
	}
	var r *protocol.ScrubReport
	testwait.For(t, waitLimit, "a scrub pass", func() error {
		if r, err = c.Client.Scrub(opCtx(t), addr, &protocol.ScrubRequest{Group: "group1"}); err != nil {
			return err
		}
		if r.Running || r.Passes == before.Passes {
			return fmt.Errorf("pass not done")
		}
		return nil
	})
	return r
}

// TestTrunkScrubRepair: the scrubber reads trunk files' content; one
// whose content was overwritten (corrupt) and one whose slot was wiped
// (missing) are both restored from the peer into their own slots. The
// trunk containers then are byte for byte the peer's (no neighbouring
// slot touched), every file reads back, and the next pass finds nothing.
func TestTrunkScrubRepair(t *testing.T) {
	c := startCluster(t, 2)
	want := map[string][]byte{}
	var ids []string
	for i := range 16 {
		data := payload.Bytes(i, 200+i*1531%9000)
		id := rawUpload(t, storageAt(t, c, i%2), data)
		want[id], ids = data, append(ids, id)
	}
	waitReplicated(t, c, want, 0, 1)
	const v = 0
	store := c.StorageConf(v).StorePaths[0]
	corrupt, wiped := trunk.Of(parse(t, ids[5])), trunk.Of(parse(t, ids[9]))
	f, err := os.OpenFile(corrupt.Path(store), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("bit rot"), int64(corrupt.Offset)+trunk.HeaderSize+10); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := trunk.Clear(store, wiped); err != nil {
		t.Fatal(err)
	}

	r := scrubNow(t, c, c.StorageAddrs()[v])
	if r.Corrupt != 1 || r.Missing != 1 || r.Repaired != 2 || r.Unrepaired != 0 {
		t.Fatalf("scrub: %d corrupt, %d missing, %d repaired, %d unrepaired; findings %+v", r.Corrupt, r.Missing, r.Repaired, r.Unrepaired, r.Findings)
	}
	waitReplicated(t, c, want, v)
	for _, l := range []trunk.Location{corrupt, wiped} {
		a, err := os.ReadFile(l.Path(store))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(l.Path(c.StorageConf(1 - v).StorePaths[0]))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("trunk file %s differs from the peer's after the repair", l.Trunk())
		}
	}
	if r := scrubNow(t, c, c.StorageAddrs()[v]); r.Corrupt != 1 || r.Missing != 1 || r.Files != 2*int64(len(want)) {
		t.Fatalf("second pass: %d corrupt, %d missing in total, %d files checked in total", r.Corrupt, r.Missing, r.Files)
	}
}

// TestTrunkScrubRepairWaitsForPeers: in a group of three, a trunk file
// missing here is not repaired while one ACTIVE peer lacks it (that peer
// may have deleted it, and its slot may be handed out again), although
// another peer serves a verified copy; once every peer holds it again,
// the next pass repairs it.
func TestTrunkScrubRepairWaitsForPeers(t *testing.T) {
	c := startCluster(t, 3)
	want := map[string][]byte{}
	var ids []string
	for i := range 6 {
		data := payload.Bytes(i, 300+i*977)
		id := rawUpload(t, storageAt(t, c, i%3), data)
		want[id], ids = data, append(ids, id)
	}
	waitReplicated(t, c, want, 0, 1, 2)
	victim := trunk.Of(parse(t, ids[2]))
	for _, i := range []int{0, 2} {
		if err := trunk.Clear(c.StorageConf(i).StorePaths[0], victim); err != nil {
			t.Fatal(err)
		}
	}
	r := scrubNow(t, c, c.StorageAddrs()[0])
	if r.Missing != 1 || r.Repaired != 0 || r.Unrepaired != 1 {
		t.Fatalf("scrub while a peer lacks the file: %d missing, %d repaired, %d unrepaired", r.Missing, r.Repaired, r.Unrepaired)
	}
	if st, _ := downloadFrom(t, c, 0, ids[2]); st != protocol.ENOENT {
		t.Fatalf("download from the storage that must not have repaired: status %d", st)
	}

	if r := scrubNow(t, c, c.StorageAddrs()[2]); r.Unrepaired != 1 {
		t.Fatalf("storage 2 while storage 0 lacks the file: %d repaired, %d unrepaired", r.Repaired, r.Unrepaired)
	}
	// Storage 1 alone has it: a copy placed on storage 2 by hand (as
	// replication would) lets storage 0 repair.
	d := want[ids[2]]
	restoreSlotByHand(t, c.StorageConf(1).StorePaths[0], c.StorageConf(2).StorePaths[0], victim)
	waitReplicated(t, c, map[string][]byte{ids[2]: d}, 2)
	if r := scrubNow(t, c, c.StorageAddrs()[0]); r.Repaired != 1 {
		t.Fatalf("scrub once every peer holds it: %d missing, %d repaired, %d unrepaired", r.Missing, r.Repaired, r.Unrepaired)
	}
	waitReplicated(t, c, want, 0)
}

// restoreSlotByHand copies the bytes of slot l from one store path's
// trunk file to another's.
func restoreSlotByHand(t *testing.T, from, to string, l trunk.Location) {
	t.Helper()
	src, err := os.Open(l.Path(from))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	b := make([]byte, l.Size)
	if _, err := src.ReadAt(b, int64(l.Offset)); err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(l.Path(to), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := dst.WriteAt(b, int64(l.Offset)); err != nil {
		t.Fatal(err)
	}
}
