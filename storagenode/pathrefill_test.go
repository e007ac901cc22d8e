package storagenode

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/fdfsengine/protocol"
)

// refillCluster starts two storages with a second store path each (a new
// disk refilled at once: refill_new_disk_after is 1 ns) and returns the
// cluster, its first storage and a client of that one.
func refillCluster(t *testing.T) (*syncCluster, *Server, *rawClient) {
	t.Helper()
	c := newSyncClusterMode(t, "127.0.0.3", 2, false)
	for _, cfg := range c.cfgs {
		cfg.StorePaths, cfg.StorePathCount = append(cfg.StorePaths, t.TempDir()), 2
		cfg.RefillNewDiskAfter = time.Nanosecond
	}
	for i := range 2 {
		c.start(i)
		c.waitActive(i)
	}
	a := c.nodes[0]
	waitFor(t, "storage 1 known to storage 0 as ACTIVE", func() bool { return len(a.repl.activePeers()) == 1 })
	return c, a, dial(t, a)
}

// A store path whose disk is replaced under the running storage (the path
// gone, then an empty directory in its place on the same file system) is
// refilled from the group without a restart: every file the peer holds
// there comes back, a file uploaded to the peer while the disk was gone
// arrives once the path is refilled, and reads are served from the new
// disk again.
func TestRefillNewDisk(t *testing.T) {
	c, a, cl := refillCluster(t)
	contents := map[string][]byte{}
	for k := range 6 {
		content := fmt.Appendf(nil, "photo %d, on the disk that dies", k)
		contents[cl.upload(protocol.CmdUploadFile, 1, "jpg", content)] = content
	}
	p1, peerP1 := c.cfgs[0].StorePaths[1], c.cfgs[1].StorePaths[1]
	waitFor(t, "the files replicated", func() bool { return len(storeFiles(t, peerP1)) == len(contents) })

	// The disk dies and takes the store path with it.
	if err := os.Rename(p1, p1+".dead"); err != nil {
		t.Fatal(err)
	}
	a.store.health.recheck()
	waitFor(t, "store path 1 gone", func() bool { return a.store.health.state(1) == pathGone })
	late := []byte("uploaded to the peer while the disk was gone")
	lateName := dial(t, c.nodes[1]).upload(protocol.CmdUploadFile, 1, "jpg", late)
	contents[lateName] = late
	if a.store.health.state(1) != pathGone {
		t.Fatalf("no directory in the path's place: state %s, want gone", a.store.health.state(1))
	}

	// A new, empty disk is mounted in its place.
	if err := os.Mkdir(p1, 0o755); err != nil {
		t.Fatal(err)
	}
	a.store.health.recheck()
	waitFor(t, "store path 1 refilled", func() bool { return a.store.health.state(1) == pathOK })
	waitFor(t, "the late file on the new disk", func() bool { return len(storeFiles(t, p1)) == len(contents) })
	if got, want := storeFiles(t, p1), storeFiles(t, peerP1); !maps.Equal(got, want) {
		t.Errorf("new disk: %s\npeer: %s", describe(got), describe(want))
	}
	for _, f := range []string{varsFile, recoveryFlagFile} {
		_, err := os.Stat(filepath.Join(p1, "data", f))
		if exists := err == nil; exists != (f == varsFile) {
			t.Errorf("%s on the new disk: %v", f, err)
		}
	}
	lost := a.lostReads.ok.Load()
	for name, content := range contents {
		if st, body := cl.download(name, 0, 0); st != 0 || !bytes.Equal(body, content) {
			t.Errorf("%s after the refill: status %d, %q", name, st, body)
		}
	}
	if n := a.lostReads.ok.Load() - lost; n != 0 {
		t.Errorf("%d downloads asked of the peer after the refill, want none", n)
	}
	if name := cl.upload(protocol.CmdUploadFile, 1, "jpg", []byte("new")); name[:3] != "M01" {
		t.Errorf("an upload asking for store path 1 after the refill went to %s", name)
	}
}

// TestBaseLost: a new disk is not refilled while running when base_path
// lost its files with the old one (store_path0 is base_path unless set).
func TestBaseLost(t *testing.T) {
	base := t.TempDir()
	if !baseLost(base) {
		t.Error("no data/.data_init_flag: not lost")
	}
	if err := os.MkdirAll(filepath.Join(base, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "data", dataInitFlagFile), []byte("storage_join_time=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if baseLost(base) {
		t.Error("data/.data_init_flag there: lost")
	}
}

// A new disk that goes too before its refill is done stops the refill:
// the path is gone again, nothing is made where the disk was, and the
// next new disk is refilled.
func TestRefillDiskGoneAgain(t *testing.T) {
	c, a, cl := refillCluster(t)
	for k := range 3 {
		cl.upload(protocol.CmdUploadFile, 1, "jpg", fmt.Appendf(nil, "photo %d", k))
	}
	p1, peerP1 := c.cfgs[0].StorePaths[1], c.cfgs[1].StorePaths[1]
	waitFor(t, "the files replicated", func() bool { return len(storeFiles(t, peerP1)) == 3 })
	c.stop(1) // the refill cannot finish

	if err := os.Rename(p1, p1+".dead"); err != nil {
		t.Fatal(err)
	}
	a.store.health.recheck()
	waitFor(t, "store path 1 gone", func() bool { return a.store.health.state(1) == pathGone })
	if err := os.Mkdir(p1, 0o755); err != nil {
		t.Fatal(err)
	}
	a.store.health.recheck()
	waitFor(t, "the refill begun", func() bool { return a.store.health.state(1) == pathRefilling })
	if err := os.Rename(p1, p1+".dead2"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "store path 1 gone again", func() bool { return a.store.health.state(1) == pathGone })
	if _, err := os.Stat(p1); err == nil {
		t.Fatal("the refill made the store path again where the disk was")
	}

	c.start(1)
	c.waitActive(1)
	if err := os.Mkdir(p1, 0o755); err != nil {
		t.Fatal(err)
	}
	a.store.health.recheck()
	waitFor(t, "store path 1 refilled", func() bool { return a.store.health.state(1) == pathOK })
	if got, want := storeFiles(t, p1), storeFiles(t, peerP1); !maps.Equal(got, want) {
		t.Errorf("the third disk: %s\npeer: %s", describe(got), describe(want))
	}
}
