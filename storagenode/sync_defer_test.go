package storagenode

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// TestSyncDefersStuckRecord: a record the peer cannot take (the data
// directory it goes to is broken there) is set aside, and the records
// after it, a delete in particular, still reach the peer; once the peer
// can take it, the deferred record (kept across a restart of the source)
// is applied and the backlog is empty.
func TestSyncDefersStuckRecord(t *testing.T) {
	c := newSyncCluster(t, "127.0.0.2", 2)
	for i := range c.cfgs {
		base := c.cfgs[i].BasePath
		c.cfgs[i].StorePaths = []string{filepath.Join(base, "path0"), filepath.Join(base, "path1")}
		c.cfgs[i].StorePathCount = 2
	}
	logs := logsOnFailure(t)
	startLogged(t, c, 0, logs)
	startLogged(t, c, 1, logs)
	src, peer := c.nodes[0], c.nodes[1]
	c.waitActive(0, 1)
	rc := dial(t, src)
	doomed := rc.upload(protocol.CmdUploadFile, 0, "txt", []byte("deleted later"))
	peerPath := func(name string) string {
		_, p, err := peer.store.resolve(name)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	eventually(t, "the first file to reach the peer", func() bool {
		_, err := os.Stat(peerPath(doomed))
		return err == nil
	})

	// The peer's path1 data directory 00/00 turns into a plain file: every
	// write there fails (even for root) until it is put back.
	dir := filepath.Join(c.cfgs[1].StorePaths[1], "data", "00", "00")
	if err := os.Rename(dir, dir+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	stuck := rc.upload(protocol.CmdUploadFile, 1, "txt", []byte("waits for the peer"))
	// The delete's record is a second younger than the stuck file, so the
	// timestamps the peer reports can pass the file.
	time.Sleep(1100 * time.Millisecond)
	if st, _ := rc.fileCmd(protocol.CmdDeleteFile, doomed); st != 0 {
		t.Fatalf("delete: status %d", st)
	}
	eventually(t, "the delete behind the stuck record to reach the peer", func() bool {
		_, err := os.Stat(peerPath(doomed))
		return errors.Is(err, fs.ErrNotExist)
	})
	if b := src.SyncBacklog(); len(b) != 1 || b[0].Deferred != 1 {
		t.Fatalf("backlog %+v, want one deferred record", b)
	}
	// The trackers must not send reads of the stuck file to the peer: the
	// timestamp it reports for the source stays below the file's.
	fileTS := mustParse(t, stuck).Timestamp
	if got := reportedFrom(t, peer, c.cfgs[0].BindAddr); got >= fileTS {
		t.Fatalf("peer reports %d for the source, not below the refused file's %d", got, fileTS)
	}
	if _, err := os.Stat(filepath.Join(c.cfgs[0].BasePath, "data", "sync", fmt.Sprintf("%s_%d.deferred", c.cfgs[1].BindAddr, c.port))); err != nil {
		t.Fatalf("deferred file: %v", err)
	}
	// The set-aside record survives a restart of the source.
	c.stop(0)
	startLogged(t, c, 0, logs)
	src = c.nodes[0]
	eventually(t, "the restarted source to load its deferred record", func() bool {
		b := src.SyncBacklog()
		return len(b) == 1 && b[0].Deferred == 1
	})

	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir+".away", dir); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deferred record to be applied", func() bool {
		b, err := os.ReadFile(peerPath(stuck))
		return err == nil && string(b) == "waits for the peer"
	})
	eventually(t, "the backlog to empty", func() bool {
		b := src.SyncBacklog()
		return len(b) == 1 && b[0].Deferred == 0
	})
	if got := reportedFrom(t, peer, c.cfgs[0].BindAddr); got <= fileTS {
		t.Fatalf("peer reports %d for the source once it holds the file, want past %d", got, fileTS)
	}
}

// reportedFrom is the sync timestamp s would report to the trackers for
// source src (0 if none).
func reportedFrom(t *testing.T, s *Server, src string) int64 {
	t.Helper()
	b, _ := s.repl.syncReport(-1)
	ts, err := protocol.DecodeSyncReport(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ts {
		if x.SrcID == src {
			return int64(x.Timestamp)
		}
	}
	return 0
}

// The deferred records file survives torn writes: a torn last line (half
// a record, zeros) and lines that are no record are dropped, the file is
// rewritten without them at once, and a record added next is whole.
func TestLoadDeferredRepairs(t *testing.T) {
	const r1, r2 = "1795619294 C M00/00/00/a.txt", "1795619295 D M00/00/00/b.txt"
	tests := []struct {
		name        string
		content     string
		wantDropped int
	}{
		{"whole records", r1 + "\n" + r2 + "\n", 0},
		{"half a record", r1 + "\n" + r2 + "\n1795619296 C M00/0", 1},
		{"zeros at the end", r1 + "\n" + r2 + "\n" + strings.Repeat("\x00", 4096), 1},
		{"zeros inside", r1 + "\n" + strings.Repeat("\x00", 4096) + "\n" + r2 + "\n", 1},
		{"an overlong line", r1 + "\n" + strings.Repeat("9", 2000) + " C x\n" + r2 + "\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "peer.deferred")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			d, dropped, err := loadDeferred(path)
			if err != nil {
				t.Fatal(err)
			}
			if dropped != tt.wantDropped || strings.Join(d.lines, "|") != r1+"|"+r2 {
				t.Errorf("records %q, dropped %d; want %q, %d", d.lines, dropped, []string{r1, r2}, tt.wantDropped)
			}
			const r3 = "1795619297 C M00/00/00/c.txt"
			if err := d.add(r3); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(path); string(b) != r1+"\n"+r2+"\n"+r3+"\n" {
				t.Errorf("file after an add: %q", b)
			}
		})
	}
}

// TestSyncRetriesRefusalOnce: a record the peer refuses as invalid is
// deferred and sent once more before it is skipped, so a refusal that
// was not permanent after all (here a delete refused while the peer's
// copy of the file is a directory, the way a trunk file being made was
// refused in session 23) still reaches the peer; one refused again is
// skipped and counted.
func TestSyncRetriesRefusalOnce(t *testing.T) {
	c := newSyncCluster(t, "127.0.0.24", 2)
	// The deferred records are retried a heartbeat interval after the
	// first refusal: time enough to heal one copy in between.
	c.cfgs[0].HeartBeatInterval = 3 * time.Second
	logs := logsOnFailure(t)
	startLogged(t, c, 0, logs)
	startLogged(t, c, 1, logs)
	src, peer := c.nodes[0], c.nodes[1]
	c.waitActive(0, 1)
	rc := dial(t, src)
	peerPath := func(name string) string {
		_, p, err := peer.store.resolve(name)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	healed := rc.upload(protocol.CmdUploadFile, 0, "txt", []byte("deleted on the retry"))
	refused := rc.upload(protocol.CmdUploadFile, 0, "txt", []byte("never deleted there"))
	for _, name := range []string{healed, refused} {
		eventually(t, "the file to reach the peer", func() bool {
			_, err := os.Stat(peerPath(name))
			return err == nil
		})
		// The peer's copy turns into a directory: its delete is EINVAL there.
		if err := os.Rename(peerPath(name), peerPath(name)+".away"); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(peerPath(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if st, _ := rc.fileCmd(protocol.CmdDeleteFile, name); st != 0 {
			t.Fatalf("delete: status %d", st)
		}
	}
	eventually(t, "both deletes to be deferred", func() bool {
		b := src.SyncBacklog()
		return len(b) == 1 && b[0].Deferred == 2 && b[0].Skipped == 0
	})
	if err := os.Remove(peerPath(healed)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(peerPath(healed)+".away", peerPath(healed)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the retry to delete the healed copy and skip the other", func() bool {
		b := src.SyncBacklog()
		return len(b) == 1 && b[0].Deferred == 0 && b[0].Skipped == 1
	})
	if _, err := os.Stat(peerPath(healed)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the healed copy after the retry: %v, want it deleted", err)
	}
	if fi, err := os.Stat(peerPath(refused)); err != nil || !fi.IsDir() {
		t.Errorf("the refused copy: %v, want the directory left alone", err)
	}
}
