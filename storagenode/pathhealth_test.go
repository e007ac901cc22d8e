package storagenode

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/fileid"
	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/mounts"
	"github.com/fdfsgo/fdfs/internal/wiretest"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// plantOn writes content into storage i's store path p (directory 01/02)
// under a name with source src made at ts, with no binlog record, and
// returns the name.
func (c *syncCluster) plantOn(i, p int, src fileid.Source, ts int64, content []byte) string {
	c.t.Helper()
	return c.plantFile(i, nameOn(c.t, p, src, ts, content), content)
}

// nameOn makes the name a storage would give content at ts in store path
// p, directory 01/02, with src in it.
func nameOn(t *testing.T, p int, src fileid.Source, ts int64, content []byte) string {
	t.Helper()
	name, err := fileid.Generate(p, 1, 2, fileid.Fields{
		Source: src, Timestamp: ts, Size: int64(len(content)), CRC32: crc32.ChecksumIEEE(content),
	}, "bin")
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// A client's read of a file on a store path whose disk is gone (its data
// directory missing: the disk unmounted) is answered from a peer that
// holds the file, whatever its age or source; the path is marked gone and
// passed over by uploads until it is back, when reads are served here
// again.
func TestReadLostStorePath(t *testing.T) {
	c := newSyncClusterMode(t, "127.0.0.18", 2, false)
	for _, cfg := range c.cfgs {
		cfg.StorePaths, cfg.StorePathCount = append(cfg.StorePaths, t.TempDir()), 2
	}
	for i := range 2 {
		c.start(i)
		c.waitActive(i)
	}
	a := c.nodes[0]
	waitFor(t, "storage 1 known to storage 0 as ACTIVE", func() bool { return len(a.repl.activePeers()) == 1 })
	old := time.Now().Unix() - 25*3600 // no longer on its way: replication's long done
	small := []byte("a photo uploaded a day ago")
	large := bytes.Repeat([]byte("0123456789abcdef"), 10_000) // past smallDownload: sendfile's path
	meta := protocol.PackMeta(map[string]string{"width": "640"})
	fromPeer := c.plantFile(0, c.plantOn(1, 1, c.sourceOf(1, false), old, small), small)
	fromHere := c.plantFile(1, c.plantOn(0, 1, c.sourceOf(0, false), old, small), small)
	largeName := c.plantFile(0, c.plantOn(1, 1, c.sourceOf(1, false), old, large), large)
	c.plantFile(0, c.plantFile(1, fromPeer+metaSuffix, meta), meta)
	onlyHere := c.plantOn(0, 1, c.sourceOf(0, false), old, []byte("never replicated"))

	cl := dial(t, a)
	indexed := cl.upload(protocol.CmdUploadFile, 1, "txt", small) // in the scrubber's index
	if st, body := cl.download(fromPeer, 0, 0); st != 0 || !bytes.Equal(body, small) {
		t.Fatalf("healthy: status %d, %q", st, body)
	}
	data := filepath.Join(c.cfgs[0].StorePaths[1], "data")
	if err := os.Rename(data, data+".away"); err != nil {
		t.Fatal(err)
	}
	cl.downloads("path gone, ", []downloadCase{
		{"a peer's file", fromPeer, 0, 0, 0, small},
		{"a file made here", fromHere, 0, 0, 0, small},
		{"a large file", largeName, 0, 0, 0, large},
		{"a range of it", largeName, 70_000, 1_000, 0, large[70_000:71_000]},
		{"a file no peer holds", onlyHere, 0, 0, protocol.ENOENT, nil},
	})
	if st, got := cl.fileCmd(protocol.CmdGetMetadata, fromPeer); st != 0 || !bytes.Equal(got, meta) {
		t.Errorf("path gone, metadata: status %d, %q", st, got)
	}
	if st, info := cl.fileInfo(fromHere, 0); st != 0 || info.Size != int64(len(small)) {
		t.Errorf("path gone, file info: status %d, %+v", st, info)
	}
	cl.alive()
	member := &rawClient{Client: wiretest.DialFrom(t, c.cfgs[1].BindAddr, a.Addr()), t: t}
	if st, _ := member.download(fromPeer, 0, 0); st != protocol.EIO {
		t.Errorf("a member's download: status %d, want EIO (this storage's own answer: not deleted, unreachable)", st)
	}
	// A peer's delete of a file there is refused for now (the peer defers
	// it), not taken as done: the file would be back with the disk.
	del := (&protocol.SyncDeleteRequest{Timestamp: int32(time.Now().Unix()), Group: "group1", Name: fromPeer}).Encode()
	if st, _ := member.Do(protocol.CmdSyncDeleteFile, del); st != protocol.EIO {
		t.Errorf("a peer's delete: status %d, want EIO", st)
	}
	if ok, refused, failed := a.lostReads.ok.Load(), a.lostReads.refused.Load(), a.lostReads.failed.Load(); ok != 6 || refused != 1 || failed != 0 {
		t.Errorf("lost reads ok/refused/failed %d/%d/%d, want 6/1/0", ok, refused, failed)
	}
	if n := a.sourceReads.ok.Load() + a.sourceReads.refused.Load(); n != 0 {
		t.Errorf("%d reads counted as of files not here yet", n)
	}

	// A change of a file there is EIO, not ENOENT: the file is not gone
	// from the group, this storage cannot reach it.
	if st, _ := cl.fileCmd(protocol.CmdDeleteFile, fromPeer); st != protocol.EIO {
		t.Errorf("path gone, delete: status %d, want EIO", st)
	}
	if st := cl.setMeta(fromPeer, protocol.MetaOverwrite, meta); st != protocol.EIO {
		t.Errorf("path gone, set metadata: status %d, want EIO", st)
	}
	if st, _ := cl.fileCmd(protocol.CmdDeleteFile, nameAt(t, c.sourceOf(1, false), old, []byte("never made"))); st != protocol.ENOENT {
		t.Errorf("a delete of a file never made, on a healthy path: status %d, want ENOENT", st)
	}
	waitFor(t, "store path 1 marked gone", func() bool { return a.store.health.state(1) == pathGone })
	newName := nameOn(t, 1, c.sourceOf(1, false), time.Now().Unix(), small)
	req := protocol.SyncFileRequest{Name: newName, FileSize: int64(len(small)), Timestamp: int32(time.Now().Unix()), Group: "group1"}
	if st, _ := member.Do(protocol.CmdSyncCreateFile, req.Encode(), small); st != protocol.EIO {
		t.Errorf("a peer's create of a file there: status %d, want EIO", st)
	}
	if got := cl.upload(protocol.CmdUploadFile, 1, "txt", []byte("asked for path 1")); got[:3] != "M00" {
		t.Errorf("an upload asking for the gone path went to %s, want M00", got[:3])
	}
	if u := a.store.usage(); u[1] != (protocol.PathUsage{}) {
		t.Errorf("the gone path reported to the trackers as %+v, want no space", u[1])
	}
	p0, p1 := c.cfgs[0].StorePaths[0], c.cfgs[0].StorePaths[1]
	want := fmt.Sprintf(`
# HELP fdfs_storage_lost_reads_total Client reads (download, metadata, file info) of files on a store path that cannot give them (its data directory gone, a disk I/O error), asked of the group's other storages since start (on the HTTP port too, in proxy mode), one count per storage asked, by result: ok (sent), refused (its error status, such as ENOENT), failed (unreachable, or broken mid-transfer).
# TYPE fdfs_storage_lost_reads_total counter
fdfs_storage_lost_reads_total{result="failed"} 0
fdfs_storage_lost_reads_total{result="ok"} 6
fdfs_storage_lost_reads_total{result="refused"} 1
# HELP fdfs_storage_store_path_state 1 for a store path's state as last checked (every 5 s): ok, read_only (uploads go to other paths), gone (its data directories cannot be reached: uploads go to other paths, reads of its files are asked of the group's other storages), refilling (a new disk in its place being refilled from the group: as gone for the files not restored yet).
# TYPE fdfs_storage_store_path_state gauge
fdfs_storage_store_path_state{path=%[1]q,state="gone",store_path="0"} 0
fdfs_storage_store_path_state{path=%[1]q,state="ok",store_path="0"} 1
fdfs_storage_store_path_state{path=%[1]q,state="read_only",store_path="0"} 0
fdfs_storage_store_path_state{path=%[1]q,state="refilling",store_path="0"} 0
fdfs_storage_store_path_state{path=%[2]q,state="gone",store_path="1"} 1
fdfs_storage_store_path_state{path=%[2]q,state="ok",store_path="1"} 0
fdfs_storage_store_path_state{path=%[2]q,state="read_only",store_path="1"} 0
fdfs_storage_store_path_state{path=%[2]q,state="refilling",store_path="1"} 0
`, p0, p1)
	if err := testutil.CollectAndCompare(storageCollector{a}, strings.NewReader(want), "fdfs_storage_lost_reads_total", "fdfs_storage_store_path_state"); err != nil {
		t.Error(err)
	}
	// A scrub pass leaves the gone path's files alone: nothing there can
	// be checked or repaired.
	if !a.scrub.begin() {
		t.Fatal("a scrub pass is running")
	}
	a.scrubPass(0)
	a.scrub.mu.Lock()
	findings := a.scrub.report.Findings
	a.scrub.mu.Unlock()
	if len(findings) != 0 {
		t.Errorf("scrub with path 1 gone (%s there): findings %+v, want none", indexed, findings)
	}

	// No peer to ask: EIO, not ENOENT.
	c.stop(1)
	if st, _ := cl.download(fromPeer, 0, 0); st != protocol.EIO {
		t.Errorf("path gone, the peer stopped: status %d, want EIO", st)
	}

	if err := os.Rename(data+".away", data); err != nil {
		t.Fatal(err)
	}
	a.store.health.recheck()
	waitFor(t, "store path 1 back", func() bool { return a.store.health.state(1) == pathOK })
	if st, body := cl.download(fromPeer, 0, 0); st != 0 || !bytes.Equal(body, small) || a.lostReads.ok.Load() != 6 {
		t.Errorf("path back: status %d, %q, lost reads %d (want 6: served here)", st, body, a.lostReads.ok.Load())
	}
}

// The HTTP side forwards a request for a file its disk cannot give to a
// peer's HTTP server, at this storage's http.server_port.
func TestLostHTTP(t *testing.T) {
	c := newSyncClusterMode(t, "127.0.0.19", 2, false)
	for _, cfg := range c.cfgs {
		cfg.HTTPServerPort = 8888 // on each storage's own address; only the forward address is checked
	}
	for i := range 2 {
		c.start(i)
		c.waitActive(i)
	}
	a := c.nodes[0]
	waitFor(t, "storage 1 known to storage 0 as ACTIVE", func() bool { return len(a.repl.activePeers()) == 1 })
	name := c.plantOn(1, 0, c.sourceOf(1, false), time.Now().Unix()-25*3600, []byte("x"))
	n, path, err := a.store.resolve(name)
	if err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat(path)
	if peers, lost := a.lostHTTP(n, err); lost {
		t.Errorf("a file deleted here: lost, forwarded to %q", peers)
	}
	if err := os.RemoveAll(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	want := []string{net.JoinHostPort(c.cfgs[1].BindAddr, strconv.Itoa(8888))}
	if peers, lost := a.lostHTTP(n, err); !lost || !slices.Equal(peers, want) {
		t.Errorf("its directory gone: forwarded to %q, %v; want %s", peers, lost, want)
	}
	if peers, lost := a.lostHTTP(n, fmt.Errorf("read: %w", syscall.EIO)); !lost || !slices.Equal(peers, want) {
		t.Errorf("an I/O error: forwarded to %q, %v; want %s", peers, lost, want)
	}
	a.lostHTTPAsked("ok")
	a.lostHTTPAsked("refused")
	a.lostHTTPAsked("failed")
	if ok, refused, failed := a.lostReads.ok.Load(), a.lostReads.refused.Load(), a.lostReads.failed.Load(); ok != 1 || refused != 1 || failed != 1 {
		t.Errorf("the HTTP side's peers counted ok/refused/failed %d/%d/%d, want 1/1/1", ok, refused, failed)
	}
}

func TestDiskFault(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&fs.PathError{Op: "read", Path: "f", Err: syscall.EIO}, true},
		{fmt.Errorf("open: %w", syscall.ENXIO), true},
		{syscall.EBADMSG, true},
		{syscall.ESTALE, true},
		{syscall.ENOENT, false},
		{syscall.EACCES, false},
		{protocol.ErrNotFound, false},
		{errors.New("other"), false},
		{nil, false},
	} {
		if got := diskFault(tc.err); got != tc.want {
			t.Errorf("diskFault(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// A record of a file whose store path here is gone when its turn to be
// replicated comes is deferred, not skipped as a file deleted since: the
// file reaches the peer once the disk is back.
func TestSyncFromLostStorePath(t *testing.T) {
	c := newSyncClusterMode(t, "127.0.0.20", 2, false)
	for _, cfg := range c.cfgs {
		cfg.StorePaths, cfg.StorePathCount = append(cfg.StorePaths, t.TempDir()), 2
	}
	c.start(0)
	c.waitActive(0)
	a := c.nodes[0]
	content := []byte("uploaded while the peer was down")
	name := dial(t, a).upload(protocol.CmdUploadFile, 1, "txt", content)
	data := filepath.Join(c.cfgs[0].StorePaths[1], "data")
	if err := os.Rename(data, data+".away"); err != nil {
		t.Fatal(err)
	}
	c.start(1)
	c.waitActive(1)
	waitFor(t, "the record deferred", func() bool {
		for _, b := range a.SyncBacklog() {
			if b.Deferred > 0 {
				return true
			}
		}
		return false
	})
	if err := os.Rename(data+".away", data); err != nil {
		t.Fatal(err)
	}
	peerCopy := mustParse(t, name).Path(c.cfgs[1].StorePaths)
	waitFor(t, "the file on the peer", func() bool {
		got, err := os.ReadFile(peerCopy)
		return err == nil && bytes.Equal(got, content)
	})
}

// A storage whose store path lies under an /etc/fstab mount point that is
// not mounted (its disk failed to mount at boot) refuses to start, naming
// the path and the entry, and creates nothing on the empty mount point;
// mounted, it starts.
func TestStartRefusesUnmountedStorePath(t *testing.T) {
	dir := t.TempDir()
	mnt := filepath.Join(dir, "disk1")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	mounts.FstabFile, mounts.MountinfoFile = filepath.Join(dir, "fstab"), filepath.Join(dir, "mountinfo")
	t.Cleanup(func() { mounts.FstabFile, mounts.MountinfoFile = "/etc/fstab", "/proc/self/mountinfo" })
	write := func(f, s string) {
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(mounts.FstabFile, "UUID=1 / ext4 defaults 0 1\n/dev/sdb1 "+mnt+" xfs defaults,nofail 0 2\n")
	write(mounts.MountinfoFile, "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n")
	cfg := testConfig(t)
	cfg.StorePaths, cfg.StorePathCount = append(cfg.StorePaths, filepath.Join(mnt, "fastdfs")), 2
	_, err := New(cfg, nil)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(mnt, "fastdfs")) || !strings.Contains(err.Error(), "/dev/sdb1 on "+mnt) {
		t.Fatalf("start with store path 1 unmounted: %v, want an error naming the path and the entry", err)
	}
	if left, _ := os.ReadDir(mnt); len(left) != 0 {
		t.Errorf("the empty mount point holds %d entries after the refused start, want none", len(left))
	}
	write(mounts.MountinfoFile, "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n23 22 8:17 / "+mnt+" rw - xfs /dev/sdb1 rw\n")
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("start with store path 1 mounted: %v", err)
	}
	s.Close()
}
