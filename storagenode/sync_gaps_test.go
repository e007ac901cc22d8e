package storagenode

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
	"github.com/fdfsgo/fdfs/internal/atomicfile"
	"github.com/fdfsgo/fdfs/internal/syncbuf"
)

// TestSyncResendSkipsDeletedAtPeer: a source started again with its mark
// behind what the peer has had (what a crash between two writes of the
// mark leaves) sends those creates again; one the peer deleted meanwhile,
// whose delete has not reached the source yet, is not sent (a peer of
// upstream's would bring the file back, tests/interop
// TestResendAfterDeleteAtReplica), and the peer's delete, held back here by
// its closed sync window, then reaches the source.
func TestSyncResendSkipsDeletedAtPeer(t *testing.T) {
	// One record at a time, as to an upstream peer: a peer of ours also
	// drops a create of a file it deleted (deletes.go).
	c, logs := oneAtATimePair(t, "127.0.0.25", func(c *syncCluster) {
		closed := time.Now().Add(3 * time.Hour)
		c.cfgs[1].SyncStartTime = closed.Format("15:04")
		c.cfgs[1].SyncEndTime = closed.Add(time.Hour).Format("15:04")
	})
	rc := dial(t, c.nodes[0])
	var names []string
	for i := range 5 {
		names = append(names, rc.upload(protocol.CmdUploadFile, 0, "bin", []byte(fmt.Sprintf("file %d", i))))
	}
	has := c.holds
	eventually(t, "the files to reach the peer", func() bool { return has(1, names[4]) })
	c.stop(0)
	rewindMarkFile(t, filepath.Join(c.cfgs[0].BasePath, "data", "sync", fmt.Sprintf("%s_%d.mark", c.cfgs[1].BindAddr, c.port)))
	deleted := names[2]
	if st, _ := dial(t, c.nodes[1]).fileCmd(protocol.CmdDeleteFile, deleted); st != 0 {
		t.Fatalf("delete at the peer: status %d", st)
	}
	startLogged(t, c, 0, logs)
	eventually(t, "the create of the file deleted at the peer to be dropped", func() bool {
		return strings.Contains(logs.String(), "creates not sent again")
	})
	if b := c.nodes[0].SyncBacklog(); len(b) != 1 || b[0].Deferred != 0 {
		t.Errorf("backlog %+v, want nothing deferred", b)
	}
	if !strings.Contains(logs.String(), deleted) {
		t.Error("the log does not name the create not sent again")
	}
	if _, err := os.Stat(filepath.Join(c.cfgs[0].BasePath, "data", "sync", fmt.Sprintf("%s_%d.deferred", c.cfgs[1].BindAddr, c.port))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("deferred file: %v, want none", err)
	}
	for _, name := range names {
		if name != deleted && (!has(0, name) || !has(1, name)) {
			t.Errorf("%s missing", name)
		}
	}
	if has(1, deleted) {
		t.Error("the deleted file is back at the peer")
	}
	// The peer's window opens: its delete reaches the source.
	c.stop(1)
	c.cfgs[1].SyncStartTime, c.cfgs[1].SyncEndTime = "", ""
	startLogged(t, c, 1, logs)
	eventually(t, "the peer's delete to reach the source", func() bool { return !has(0, deleted) })
}

// rewindMarkFile moves a sync mark back to the start of the binlog.
func rewindMarkFile(t *testing.T, path string) {
	t.Helper()
	m, err := loadMark(path)
	if err != nil {
		t.Fatal(err)
	}
	m.Index, m.Offset, m.ScanRows, m.SyncRows = 0, 0, 0, 0
	if err := atomicfile.WriteFile(path, m.encode(), fileMode); err != nil {
		t.Fatal(err)
	}
}

// The gap tracker: records written since the session began are never
// gaps; after a
// gap the deferred records wait the hold; past
// maxGapRun gaps in a row the creates go as before; a create deferred
// before (the peer refused it) is no gap; a later file the peer has drops
// the pending gaps from the deferred records, and only them.
func TestGapTracker(t *testing.T) {
	w := &syncWorker{log: slog.New(slog.DiscardHandler)}
	path := filepath.Join(t.TempDir(), "peer.deferred")
	d, _, err := loadDeferred(path)
	if err != nil {
		t.Fatal(err)
	}
	g := gapTracker{held: d, end: packPos(0, 1000), hold: time.Minute}
	g.at(0, 1000)
	if g.gap("M00/00/00/new") {
		t.Error("a record written since the session began taken as a gap")
	}
	g.at(0, 999)
	var lines []string
	for i := range maxGapRun {
		name := fmt.Sprintf("M00/00/00/f%02d", i)
		if !g.gap(name) {
			t.Fatalf("gap %d not taken", i)
		}
		lines = append(lines, fmt.Sprintf("999 C %s", name))
		if err := d.add(lines[i]); err != nil {
			t.Fatal(err)
		}
	}
	if d.pause != time.Minute {
		t.Errorf("the deferred records wait %v after a gap, want the hold", d.pause)
	}
	if g.gap("M00/00/00/one-too-many") || len(g.names) != 0 {
		t.Fatalf("gap %d taken, %d pending", maxGapRun, len(g.names))
	}
	if g.gap("M00/00/00/f00") {
		t.Error("a create deferred before (a refusal) taken as a gap")
	}
	// A new run: two gaps, then the peer has a later file.
	for _, name := range []string{"M00/00/00/x1", "M00/00/00/x2"} {
		g.gap(name)
		if err := d.add("999 C " + name); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.add("999 D M00/00/00/x1"); err != nil {
		t.Fatal(err)
	}
	if err := g.peerHasLater(w); err != nil {
		t.Fatal(err)
	}
	want := append(lines, "999 D M00/00/00/x1")
	reloaded, _, err := loadDeferred(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.lines, "\n") != strings.Join(want, "\n") || strings.Join(reloaded.lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("deferred after the drop:\n%s\non disk:\n%s", strings.Join(d.lines, "\n"), strings.Join(reloaded.lines, "\n"))
	}
}

// TestSyncMetaUpdateBehindDeferredCreate: a metadata change made while
// its file's create waits among the deferred records (here a gap: the
// peer has the files before it, not it) goes after that create, not
// nowhere. The metadata file's own create is sent at once (metadata
// creates are never gaps), so the peer holds the old metadata; dropping
// the change as an update of a file the peer deleted lost it for good
// (TestMixedChaos).
func TestSyncMetaUpdateBehindDeferredCreate(t *testing.T) {
	c, logs := oneAtATimePair(t, "127.0.0.11")
	meta := func(i int, name string) string {
		_, p, err := c.nodes[i].store.resolve(name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p + metaSuffix)
		return string(b)
	}
	rc := dial(t, c.nodes[0])
	var had string
	for i := range 2 {
		had = rc.upload(protocol.CmdUploadFile, 0, "bin", []byte(fmt.Sprintf("had %d", i)))
	}
	eventually(t, "the files to reach the peer", func() bool { return c.holds(1, had) })
	// The file and its metadata are made while the peer is down; the
	// source restarts with its mark rewound (what a power loss leaves), so
	// that the first creates come back EEXIST and the new file is a gap.
	c.stop(1)
	name := dial(t, c.nodes[0]).upload(protocol.CmdUploadFile, 0, "bin", []byte("made while the peer was down"))
	if st := dial(t, c.nodes[0]).setMeta(name, protocol.MetaOverwrite, []byte("k\x02old")); st != 0 {
		t.Fatalf("set metadata: status %d", st)
	}
	c.stop(0)
	rewindMarkFile(t, filepath.Join(c.cfgs[0].BasePath, "data", "sync", fmt.Sprintf("%s_%d.mark", c.cfgs[1].BindAddr, c.port)))
	startLogged(t, c, 1, logs)
	startLogged(t, c, 0, logs)
	eventually(t, "the file's create deferred and its metadata at the peer", func() bool {
		return strings.Contains(logs.String(), "deferring it") && meta(1, name) == "k\x02old"
	})
	if st := dial(t, c.nodes[0]).setMeta(name, protocol.MetaOverwrite, []byte("k\x02new")); st != 0 {
		t.Fatalf("set metadata: status %d", st)
	}
	eventually(t, "the file and its new metadata at the peer", func() bool {
		return meta(1, name) == "k\x02new"
	})
}

// oneAtATimePair starts a source (node 0) and its peer (node 1) on ipBase,
// configured by prep, the source sending one record at a time, as to an
// upstream peer (a peer of ours gets runs of creates pipelined,
// sync_batch.go). The source starts first: a peer in service first with a
// closed sync window would hold it in WAIT_SYNC.
func oneAtATimePair(t *testing.T, ipBase string, prep ...func(*syncCluster)) (*syncCluster, *syncbuf.Buffer) {
	t.Helper()
	c := newSyncCluster(t, ipBase, 2)
	c.cfgs[0].SyncInterval = time.Millisecond
	for _, f := range prep {
		f(c)
	}
	logs := logsOnFailure(t)
	startLogged(t, c, 0, logs)
	c.waitActive(0)
	startLogged(t, c, 1, logs)
	c.waitActive(0, 1)
	return c, logs
}

// holds reports whether node i holds the file name.
func (c *syncCluster) holds(i int, name string) bool {
	c.t.Helper()
	_, p, err := c.nodes[i].store.resolve(name)
	if err != nil {
		c.t.Fatal(err)
	}
	_, err = os.Stat(p)
	return err == nil
}
