package trackernode

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// An empty tracker copies the sys files from the tracker listed next to it
// before its first storage joins: afterwards it knows storages that never
// joined it, and holds the same changelog. The storage file is larger
// than one 63 chunk.
func TestCopySysFilesFromPeer(t *testing.T) {
	a := startServer(t, traceConfig(t, "ip"))
	const n = 12
	for i := range n {
		activeStorage(t, a, fmt.Sprintf("127.0.1.%d", i+1), "group1", 23000, 1000, 900)
	}
	gone := dialFrom(t, "127.0.0.5", a.Addr())
	gone.ok(protocol.CmdStorageJoin, joinBody("group1", 23000, 1, ""))
	gone.Conn.Close()
	eventually(t, "storage offline", func() error {
		st, _ := dialFrom(t, "127.0.0.1", a.Addr()).call(protocol.CmdServerDeleteStorage,
			(&protocol.GroupAndID{Group: "group1", ID: "127.0.0.5"}).Encode())
		if st != 0 {
			return fmt.Errorf("delete: status %d", st)
		}
		return nil
	})
	a.mu.Lock()
	servers := len(a.render()[1].data)
	a.mu.Unlock()
	if servers <= sysChunk {
		t.Fatalf("servers file of %d bytes: want more than one chunk", servers)
	}

	cfg := traceConfig(t, "ip")
	cfg.BindAddr = "127.0.0.12"
	b := startServer(t, cfg)
	// The storages now list b too: a learns it, then b joins the cluster.
	listing := joinListing("group1", 23000, a.Addr(), b.Addr())
	dialFrom(t, "127.0.1.1", a.Addr()).ok(protocol.CmdStorageJoin, listing)
	dialFrom(t, "127.0.1.1", b.Addr()).ok(protocol.CmdStorageJoin, listing)
	got := listStorages(t, b, "group1")
	if len(got) != n+1 || got[0].ID != "127.0.0.5" || got[0].Status != protocol.StatusDeleted {
		t.Fatalf("copied tracker lists %d storages (first %s), want %d and the deleted one's tombstone", len(got), got[0].ID, n+1)
	}
	want, err := os.ReadFile(filepath.Join(a.dataDir, changelogFile))
	if err != nil {
		t.Fatal(err)
	}
	copied, err := os.ReadFile(filepath.Join(b.dataDir, changelogFile))
	if err != nil || !bytes.Equal(copied, want) || len(want) == 0 {
		t.Fatalf("changelog %q, want %q (%v)", copied, want, err)
	}
}

// The sys-file commands: one copier at a time, bounds checked, ENOENT on a
// tracker without groups.
func TestSysFileCommands(t *testing.T) {
	s := startServer(t, traceConfig(t, "ip"))
	knowTrackers(t, s, "127.0.0.9:22122", "127.0.0.10:22122", "127.0.0.11:22122")
	cl := dialFrom(t, "127.0.0.9", s.Addr())
	for _, cmd := range []byte{protocol.CmdTrackerGetSysFilesStart, protocol.CmdTrackerGetStatus} {
		if st, _ := cl.call(cmd, nil); st != protocol.ENOENT {
			t.Fatalf("cmd %d without groups: %d, want ENOENT", cmd, st)
		}
	}
	activeStorage(t, s, "127.0.0.3", "group1", 23000, 1000, 900)
	cl.ok(protocol.CmdTrackerGetSysFilesStart, nil)
	other := dialFrom(t, "127.0.0.10", s.Addr())
	if st, _ := other.call(protocol.CmdTrackerGetSysFilesStart, nil); st != protocol.EBUSY {
		t.Fatalf("second copier: %d, want EBUSY", st)
	}
	req := func(idx byte, off int64) []byte {
		e := protocol.NewEncoder(9)
		e.Byte(idx)
		e.Int64(off)
		return e.B
	}
	b := cl.ok(protocol.CmdTrackerGetOneSysFile, req(0, 0))
	size := protocol.NewDecoder(b[:8]).Int64()
	if size != int64(len(b)-8) || !bytes.Contains(b, []byte("group_name=group1")) {
		t.Fatalf("groups file reply: size %d, %q", size, b[8:])
	}
	if b := cl.ok(protocol.CmdTrackerGetOneSysFile, req(3, 0)); len(b) != 8 {
		t.Fatalf("empty changelog reply of %d bytes", len(b))
	}
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"index 4", req(4, 0)},
		{"offset past the end", req(0, size+1)},
		{"negative offset", req(0, -1)},
		{"short body", []byte{0}},
	} {
		if st, _ := cl.call(protocol.CmdTrackerGetOneSysFile, c.body); st != protocol.EINVAL {
			t.Errorf("%s: status %d, want EINVAL", c.name, st)
		}
	}
	cl.ok(protocol.CmdTrackerGetSysFilesEnd, nil)
	other.ok(protocol.CmdTrackerGetSysFilesStart, nil)
	other.Conn.Close()
	// The lock dies with its connection.
	eventually(t, "lock released on disconnect", func() error {
		c := dialFrom(t, "127.0.0.11", s.Addr())
		defer c.Conn.Close()
		if st, _ := c.call(protocol.CmdTrackerGetSysFilesStart, nil); st != 0 {
			return fmt.Errorf("start: status %d", st)
		}
		return nil
	})
}

// A tracker stopped for longer than two status intervals replaces its
// stale data with a better tracker's; one restarted quickly keeps its own.
func TestCopySysFilesAfterLongStop(t *testing.T) {
	a := startServer(t, traceConfig(t, "ip"))
	activeStorage(t, a, "127.0.1.1", "group1", 23000, 1000, 900)
	for _, c := range []struct {
		name    string
		stopped time.Duration
		want    string // group the tracker lists afterwards
	}{
		{"long stop", 1000 * time.Second, "group1"},
		{"short stop", 10 * time.Second, "group2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := traceConfig(t, "ip")
			cfg.BindAddr = "127.0.0.12"
			data := filepath.Join(cfg.BasePath, "data")
			if err := os.MkdirAll(data, 0o755); err != nil {
				t.Fatal(err)
			}
			files := map[string]string{
				groupsFile: "[Global]\ngroup_count=1\n\n[Group001]\ngroup_name=group2\nstorage_port=23000\n" +
					"store_path_count=1\nsubdir_count_per_path=256\n",
				statusFile: fmt.Sprintf("up_time=1\nlast_check_time=%d\n", time.Now().Add(-c.stopped).Unix()),
			}
			for name, content := range files {
				if err := os.WriteFile(filepath.Join(data, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b := startServer(t, cfg)
			listing := joinListing("group1", 23000, a.Addr(), b.Addr())
			dialFrom(t, "127.0.1.1", a.Addr()).ok(protocol.CmdStorageJoin, listing) // a learns b
			dialFrom(t, "127.0.1.2", b.Addr()).ok(protocol.CmdStorageJoin, joinListing("group3", 23000, a.Addr(), b.Addr()))
			cl := dialFrom(t, "127.0.0.1", b.Addr())
			if st, _ := cl.call(protocol.CmdServerListOneGroup, protocol.EncodeGroup(c.want)); st != 0 {
				t.Fatalf("group %s: status %d", c.want, st)
			}
		})
	}
}

// A failed copy refuses the JOIN with EAGAIN (the storage retries); the
// next JOIN copies.
func TestCopySysFilesRetried(t *testing.T) {
	peer := startFakePeer(t, "127.0.0.9", protocol.TrackerStatus{IsLeader: true, RunningTime: 600})
	peer.busy.Store(true)
	s := startServer(t, traceConfig(t, "ip"))
	st := dialFrom(t, "127.0.0.3", s.Addr())
	join := joinListing("group1", 23000, "127.0.0.2:22122", peer.addr())
	if got, _ := st.call(protocol.CmdStorageJoin, join); got != protocol.EAGAIN {
		t.Fatalf("JOIN while the copy fails: status %d, want EAGAIN", got)
	}
	peer.busy.Store(false)
	st.ok(protocol.CmdStorageJoin, join)
}

// A tracker just added to the storages' lists is refused by a peer that
// has not seen it listed yet (EPERM): it refuses the JOIN with EAGAIN
// instead of starting empty, and copies once the peer learned it.
func TestCopySysFilesWaitsUntilPeerKnowsTracker(t *testing.T) {
	a := startServer(t, traceConfig(t, "ip"))
	activeStorage(t, a, "127.0.1.1", "group1", 23000, 1000, 900)
	cfg := traceConfig(t, "ip")
	cfg.BindAddr = "127.0.0.12"
	b := startServer(t, cfg)
	listing := joinListing("group1", 23000, a.Addr(), b.Addr())
	st := dialFrom(t, "127.0.1.2", b.Addr())
	if got, _ := st.call(protocol.CmdStorageJoin, listing); got != protocol.EAGAIN {
		t.Fatalf("JOIN while the peer refuses the copy: status %d, want EAGAIN", got)
	}
	dialFrom(t, "127.0.1.1", a.Addr()).ok(protocol.CmdStorageJoin, listing)
	st.ok(protocol.CmdStorageJoin, listing)
	if got := listStorages(t, b, "group1"); len(got) != 2 {
		t.Fatalf("tracker lists %d storages, want 2 (one copied, one joined)", len(got))
	}
}

// Two new trackers check each other for sys files at their first JOINs. A
// tracker learns the listed trackers before it asks them, so whichever
// asks second is answered (ENOENT: nothing to copy) and takes the JOIN.
func TestNewTrackersLearnEachOtherBeforeCopying(t *testing.T) {
	a := startServer(t, traceConfig(t, "ip"))
	cfg := traceConfig(t, "ip")
	cfg.BindAddr = "127.0.0.12"
	b := startServer(t, cfg)
	listing := joinListing("group1", 23000, a.Addr(), b.Addr())
	if got, _ := dialFrom(t, "127.0.1.1", b.Addr()).call(protocol.CmdStorageJoin, listing); got != protocol.EAGAIN {
		t.Fatalf("first JOIN, refused by a tracker that does not know this one: status %d, want EAGAIN", got)
	}
	dialFrom(t, "127.0.1.1", a.Addr()).ok(protocol.CmdStorageJoin, listing)
}

// While the trackers start, a peer that has not learned this tracker yet
// may refuse it more times than maxSysCopyAttempts (several storages
// joining at once): the JOINs are refused with EAGAIN without giving up,
// and the copy happens once the peer learned this tracker.
func TestCopySysFilesOutlastsStartupRefusals(t *testing.T) {
	a := startServer(t, traceConfig(t, "ip"))
	activeStorage(t, a, "127.0.1.1", "group1", 23000, 1000, 900)
	cfg := traceConfig(t, "ip")
	cfg.BindAddr = "127.0.0.12"
	b := startServer(t, cfg)
	listing := joinListing("group1", 23000, a.Addr(), b.Addr())
	for i := range maxSysCopyAttempts + 2 {
		st := dialFrom(t, fmt.Sprintf("127.0.1.%d", 2+i), b.Addr())
		if got, _ := st.call(protocol.CmdStorageJoin, listing); got != protocol.EAGAIN {
			t.Fatalf("JOIN %d while the peer refuses the copy: status %d, want EAGAIN", i+1, got)
		}
	}
	dialFrom(t, "127.0.1.1", a.Addr()).ok(protocol.CmdStorageJoin, listing)
	dialFrom(t, "127.0.1.2", b.Addr()).ok(protocol.CmdStorageJoin, listing)
	if got := listStorages(t, b, "group1"); len(got) != 2 {
		t.Fatalf("tracker lists %d storages, want 2 (one copied, one joined)", len(got))
	}
}

// The status file's last_check_time is read from the tracker's clock, the
// one its restart interval is measured against when it loads the file.
func TestStatusFileUsesTheClock(t *testing.T) {
	s := cluster(t, nil)
	for _, f := range s.render() {
		if f.name != statusFile {
			continue
		}
		want := fmt.Sprintf("last_check_time=%d\n", now.Unix())
		if !strings.Contains(string(f.data), want) {
			t.Fatalf("%s:\n%s\nwant a line %q", statusFile, f.data, want)
		}
		return
	}
	t.Fatalf("render wrote no %s", statusFile)
}
