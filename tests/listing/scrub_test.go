package listing

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/testwait"
	"github.com/fdfsgo/fdfs/internal/wiretest"
	"github.com/fdfsgo/fdfs/server/fileops"
	"github.com/fdfsgo/fdfs/tests/cluster"
	"github.com/fdfsgo/fdfs/tests/internal/payload"
	"github.com/fdfsgo/fdfs/tests/internal/planted"
)

// fileState identifies the stored file: a repair replaces the inode, a
// write changes the mtime.
type fileState struct {
	ino   uint64
	mtime time.Time
	size  int64
}

func stateOf(t *testing.T, path string) fileState {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fileState{fi.Sys().(*syscall.Stat_t).Ino, fi.ModTime(), fi.Size()}
}

// scrubNow starts a pass on storage s and waits for its report.
func scrubNow(t *testing.T, c *cluster.Cluster, s *cluster.Storage) *protocol.ScrubReport {
	t.Helper()
	before, err := c.Client.Scrub(opCtx(t), s.Addr(), &protocol.ScrubRequest{Group: "group1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.Scrub(opCtx(t), s.Addr(), &protocol.ScrubRequest{Group: "group1", Flags: protocol.ScrubRunNow}); err != nil {
		t.Fatal(err)
	}
	var r *protocol.ScrubReport
	testwait.For(t, waitLimit, "scrub pass", func() error {
		r, err = c.Client.Scrub(opCtx(t), s.Addr(), &protocol.ScrubRequest{Group: "group1"})
		if err != nil {
			return err
		}
		if r.Running || r.Passes == before.Passes {
			return fmt.Errorf("pass not done (passes %d, running %t)", r.Passes, r.Running)
		}
		return nil
	})
	return r
}

// TestScrubRepairs: on a 2-storage group, a file with flipped bytes, a
// truncated one and a deleted one on one storage are found by its
// scrubber and repaired from the other; every healthy file on both
// storages keeps its inode and mtime, and a second pass finds nothing.
func TestScrubRepairs(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 2})
	var ids []string
	want := map[string][]byte{}
	for i := range 12 {
		b := payload.Bytes(i, 3000+i)
		id, err := c.Client.Upload(opCtx(t), bytes.NewReader(b), int64(len(b)), client.UploadOptions{Ext: "bin"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		want[id] = b
	}
	waitListing(t, c, fileops.New(c.Client, nil), expect(storedOf(ids), func(stored) bool { return true }))

	victim, peer := c.Storages[0], c.Storages[1]
	flipped, truncated, deleted := ids[0], ids[1], ids[2]
	p := cluster.StoredPath(t, victim, flipped)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[100] ^= 0xFF
	b[2000] ^= 0x01
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(cluster.StoredPath(t, victim, truncated), 1000); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(cluster.StoredPath(t, victim, deleted)); err != nil {
		t.Fatal(err)
	}
	healthy := map[string]fileState{}
	for _, id := range ids[3:] {
		for _, s := range c.Storages {
			healthy[s.Name+" "+id] = stateOf(t, cluster.StoredPath(t, s, id))
		}
	}
	for _, id := range ids[:3] {
		healthy[peer.Name+" "+id] = stateOf(t, cluster.StoredPath(t, peer, id))
	}

	r := scrubNow(t, c, victim)
	if r.Files != 12 || r.Corrupt != 2 || r.Missing != 1 || r.Repaired != 3 || r.Unrepaired != 0 {
		t.Fatalf("report %+v: want 12 files, 2 corrupt, 1 missing, 3 repaired", r)
	}
	for _, id := range ids[:3] {
		got, err := os.ReadFile(cluster.StoredPath(t, victim, id))
		if err != nil || !bytes.Equal(got, want[id]) {
			t.Errorf("%s not repaired (%d bytes, %v)", id, len(got), err)
		}
	}
	// The peer's scrub finds nothing wrong, and nothing healthy was
	// rewritten on either storage.
	if r := scrubNow(t, c, peer); r.Corrupt+r.Missing != 0 || r.Files != 12 {
		t.Fatalf("peer report %+v: want 12 healthy files", r)
	}
	if r2 := scrubNow(t, c, victim); r2.Corrupt != r.Corrupt || r2.Missing != r.Missing || r2.Passes != 2 {
		t.Fatalf("second pass %+v found more after the repair (first %+v)", r2, r)
	}
	for _, id := range ids {
		for _, s := range c.Storages {
			k := s.Name + " " + id
			before, ok := healthy[k]
			if ok && stateOf(t, cluster.StoredPath(t, s, id)) != before {
				t.Errorf("healthy %s was rewritten", k)
			}
		}
	}
}

// TestScrubUnrepairable: a corrupt file whose only other copy is corrupt
// too is reported and left as it is.
func TestScrubUnrepairable(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 2})
	b := payload.Bytes(1, 5000)
	id, err := c.Client.Upload(opCtx(t), bytes.NewReader(b), int64(len(b)), client.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitListing(t, c, fileops.New(c.Client, nil), []string{id})
	for i, s := range c.Storages {
		if err := os.WriteFile(cluster.StoredPath(t, s, id), payload.Bytes(10+i, 5000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := stateOf(t, cluster.StoredPath(t, c.Storages[0], id))
	r := scrubNow(t, c, c.Storages[0])
	if r.Corrupt != 1 || r.Unrepaired != 1 || r.Repaired != 0 || len(r.Findings) != 1 || r.Findings[0].Outcome != protocol.ScrubUnrepaired {
		t.Fatalf("report %+v: want 1 corrupt, unrepaired", r)
	}
	if got := stateOf(t, cluster.StoredPath(t, c.Storages[0], id)); got != before {
		t.Fatalf("unrepairable file changed: %+v, was %+v", got, before)
	}
}

func storedOf(ids []string) []stored {
	var out []stored
	for _, id := range ids {
		out = append(out, stored{id: id})
	}
	return out
}

// TestScrubFindsFilesLostWhileDown: a file removed while its storage was
// down is missing from that storage's listing after the restart (the
// index is what is on disk); the scrubber finds it from the binlog,
// repairs it from the peer and the listing has it again. A file deleted
// through the API is not brought back.
func TestScrubFindsFilesLostWhileDown(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 2})
	f := fileops.New(c.Client, nil)
	var ids []string
	want := map[string][]byte{}
	for i := range 6 {
		b := payload.Bytes(100+i, 2000)
		id, err := c.Client.Upload(opCtx(t), bytes.NewReader(b), int64(len(b)), client.UploadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		want[id] = b
	}
	if err := c.Client.Delete(opCtx(t), ids[5]); err != nil {
		t.Fatal(err)
	}
	ids = ids[:5]
	all := expect(storedOf(ids), func(stored) bool { return true })
	waitListing(t, c, f, all)
	victim := c.Storages[0]
	c.StopStorage(0)
	if err := os.Remove(cluster.StoredPath(t, victim, ids[0])); err != nil {
		t.Fatal(err)
	}
	c.StartStorage(0)
	c.WaitActive()
	got, _ := listAll(t, f, fileops.ListRequest{Group: "group1", Storage: victim.ID, StorePath: -1})
	if len(got) != len(all)-1 {
		t.Fatalf("after the restart storage lists %d files, want %d", len(got), len(all)-1)
	}
	r := scrubNow(t, c, victim)
	if r.Missing != 1 || r.Repaired != 1 || len(r.Findings) != 1 || "group1/"+r.Findings[0].Name != ids[0] {
		t.Fatalf("report %+v: want %s missing and repaired", r, ids[0])
	}
	if b, err := os.ReadFile(cluster.StoredPath(t, victim, ids[0])); err != nil || !bytes.Equal(b, want[ids[0]]) {
		t.Fatalf("%s not repaired: %v", ids[0], err)
	}
	waitListing(t, c, f, all)
}

// TestScrubInBackground: with scrub_bytes_per_second set, the storages
// scrub on their own (a pass at start, then every scrub_pass_interval)
// and repair a corrupted file without being asked.
func TestScrubInBackground(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 2, StorageConf: []string{"scrub_bytes_per_second = 1MB", "scrub_pass_interval = 1"}})
	b := payload.Bytes(7, 4000)
	id, err := c.Client.Upload(opCtx(t), bytes.NewReader(b), int64(len(b)), client.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitListing(t, c, fileops.New(c.Client, nil), []string{id})
	p := cluster.StoredPath(t, c.Storages[1], id)
	if err := os.WriteFile(p, payload.Bytes(8, 4000), 0o644); err != nil {
		t.Fatal(err)
	}
	// The report counts the repair once the file is back in place.
	testwait.For(t, waitLimit, "background repair", func() error {
		r, err := c.Client.Scrub(opCtx(t), c.Storages[1].Addr(), &protocol.ScrubRequest{Group: "group1"})
		if err == nil && (r.Corrupt != 1 || r.Repaired != 1) {
			err = fmt.Errorf("report %+v: want 1 corrupt, repaired", r)
		}
		return err
	})
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, b) {
		t.Fatalf("reported repaired, but the file is not (%v)", err)
	}
}

// TestScrubMetadataChecksums: a slave file uploaded with a SHA-256 kept
// in its metadata is checked and repaired like a normal file; a normal
// file whose stored checksum does not match it is reported and left as
// it is (a peer's copy matches the name, not the metadata).
func TestScrubMetadataChecksums(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 2})
	f := fileops.New(c.Client, nil)
	upload := func(u fileops.Upload, b []byte) string {
		t.Helper()
		sum := sha256.Sum256(b)
		u.Checksum = &fileops.Checksum{Algorithm: fileops.SHA256, Value: sum[:], Field: "checksum", Store: true}
		id, err := f.Upload(opCtx(t), u, fileops.Content{R: bytes.NewReader(b), Size: int64(len(b))})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	master := upload(fileops.Upload{Kind: fileops.Normal}, payload.Bytes(1, 3000))
	slaveContent := payload.Bytes(2, 5000)
	slave := upload(fileops.Upload{Kind: fileops.Slave, Master: master, Prefix: "_s"}, slaveContent)
	meta, err := c.Client.GetMetadata(opCtx(t), slave)
	if err != nil || len(meta["fdfs_sha256"]) != 64 {
		t.Fatalf("slave metadata %v, %v: want fdfs_sha256", meta, err)
	}
	waitListing(t, c, f, expect(storedOf([]string{master, slave}), func(stored) bool { return true }))
	victim := c.Storages[0]
	testwait.For(t, waitLimit, "metadata replicated", func() error {
		_, err := os.Stat(cluster.StoredPath(t, victim, slave) + "-m")
		return err
	})

	// The slave's content changes on the victim: its name says nothing,
	// its metadata does.
	if err := os.WriteFile(cluster.StoredPath(t, victim, slave), payload.Bytes(3, 5000), 0o644); err != nil {
		t.Fatal(err)
	}
	// The master's stored checksum is wrong on the victim: the file is
	// reported, and no peer copy can match.
	mp := cluster.StoredPath(t, victim, master) + "-m"
	if err := os.WriteFile(mp, protocol.PackMeta(map[string]string{"fdfs_sha256": strings.Repeat("ab", 32)}), 0o644); err != nil {
		t.Fatal(err)
	}
	before := stateOf(t, cluster.StoredPath(t, victim, master))
	r := scrubNow(t, c, victim)
	if r.Corrupt != 2 || r.Repaired != 1 || r.Unrepaired != 1 {
		t.Fatalf("report %+v: want 2 corrupt, 1 repaired (the slave), 1 unrepaired (the master)", r)
	}
	if b, err := os.ReadFile(cluster.StoredPath(t, victim, slave)); err != nil || !bytes.Equal(b, slaveContent) {
		t.Fatalf("slave not repaired: %v", err)
	}
	if got := stateOf(t, cluster.StoredPath(t, victim, master)); got != before {
		t.Fatal("the master, healthy by its name, was rewritten")
	}
}

// TestScrubFetchesFilesPeersHold: files two storages of a group of three
// hold and the third never had (no record of them in its binlog) are
// fetched by the third's scrubber with their metadata, once older than
// storage_sync_file_max_delay, when every ACTIVE peer holds them and the
// copy matches the name. Left alone: a file only one peer holds (the
// other may have deleted it), one whose delete reached the third without
// the file, one younger than the delay (replication's), and one whose
// peers' copies do not match its name (reported, not taken).
func TestScrubFetchesFilesPeersHold(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Storages: 3, TrackerConf: []string{"storage_sync_file_max_delay = 600"}})
	a, b, cs := c.Storages[0], c.Storages[1], c.Storages[2]
	old := time.Now().Add(-time.Hour)
	content := func(i int) []byte { return payload.Bytes(200+i, 1500+i) }
	taken := planted.Name(t, a.IP, content(0), old)
	onlyA := planted.Name(t, a.IP, content(1), old)
	deletedHere := planted.Name(t, a.IP, content(2), old)
	young := planted.Name(t, a.IP, content(3), time.Now())
	bad := planted.Name(t, a.IP, content(4), old) // its copies hold content(5)
	meta := protocol.PackMeta(map[string]string{"width": "640"})
	c.StopStorage(0)
	c.StopStorage(2)
	for _, st := range []*cluster.Storage{a, cs} {
		planted.WriteNamed(t, st.StorePaths[0], taken, content(0))
		planted.WriteNamed(t, st.StorePaths[0], deletedHere, content(2))
		planted.WriteNamed(t, st.StorePaths[0], young, content(3))
		planted.WriteNamed(t, st.StorePaths[0], bad, content(5))
	}
	planted.WriteNamed(t, a.StorePaths[0], taken+"-m", meta)
	planted.WriteNamed(t, a.StorePaths[0], onlyA, content(1))
	c.StartStorage(0) // their indexes are built from the files at start
	c.StartStorage(2)
	c.WaitActive()

	// A member's delete of a file B never had is recorded at B.
	rc := wiretest.DialFrom(t, a.IP, b.Addr())
	if st, _ := rc.Do(protocol.CmdSyncDeleteFile, (&protocol.SyncDeleteRequest{Timestamp: int32(time.Now().Unix()), Group: "group1", Name: deletedHere}).Encode()); st != protocol.ENOENT {
		t.Fatalf("delete of a file B lacks: status %d, want ENOENT", st)
	}

	r := scrubNow(t, c, b)
	found := map[string]byte{}
	for _, f := range r.Findings {
		found[f.Name] = f.Outcome
	}
	wantFound := map[string]byte{taken: protocol.ScrubRepaired, onlyA: protocol.ScrubUnrepaired, bad: protocol.ScrubUnrepaired}
	if !maps.Equal(found, wantFound) || r.Missing != 3 || r.Repaired != 1 {
		t.Fatalf("report %+v, findings %v: want %v", r, found, wantFound)
	}
	id := func(name string) string { return fileid.Join("group1", name) }
	if got, err := os.ReadFile(cluster.StoredPath(t, b, id(taken))); err != nil || !bytes.Equal(got, content(0)) {
		t.Fatalf("%s at B: %q, %v", taken, got, err)
	}
	if got, err := os.ReadFile(cluster.StoredPath(t, b, id(taken)) + "-m"); err != nil || !bytes.Equal(got, meta) {
		t.Errorf("metadata of %s at B: %q, %v", taken, got, err)
	}
	if fi, err := os.Stat(cluster.StoredPath(t, b, id(taken))); err != nil {
		t.Error(err)
	} else if fi.ModTime().Unix() != old.Unix() {
		t.Errorf("%s at B: mtime %v, want the name's %v", taken, fi.ModTime(), old)
	}
	for _, name := range []string{onlyA, deletedHere, young, bad} {
		if _, err := os.Stat(cluster.StoredPath(t, b, id(name))); err == nil {
			t.Errorf("%s taken by B", name)
		}
	}
	log, err := os.ReadFile(filepath.Join(b.BasePath, "data", "sync", "binlog.000"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []string{" c " + taken + "\n", " c " + taken + "-m\n", " d " + deletedHere + "\n"} {
		if !strings.Contains(string(log), rec) {
			t.Errorf("B's binlog lacks %q:\n%s", rec, log)
		}
	}
	// Served by B like any replica; the next pass finds it in place.
	if st, got := wiretest.Dial(t, b.Addr()).Do(protocol.CmdDownloadFile, (&protocol.DownloadRequest{Group: "group1", Name: taken}).Encode()); st != 0 || !bytes.Equal(got, content(0)) {
		t.Errorf("download of %s from B: status %d", taken, st)
	}
	r = scrubNow(t, c, b)
	if r.Repaired != 1 || r.Missing != 5 {
		t.Errorf("second pass: report %+v, want the two unrepaired found again and nothing more", r)
	}
}
