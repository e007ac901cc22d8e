package cluster

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/fdfsgo/fdfs/devcluster"
	"github.com/fdfsgo/fdfs/fdfsengine/client"
	"github.com/fdfsgo/fdfs/fdfsengine/conf"
)

// logTail is how much of the server log a failed test prints (bytes).
const logTail = 64 << 10

// Options describe the cluster of a test; the zero value is one tracker and
// two storages of group1 with one store path each.
type Options struct {
	Storages     int      // storages per group; default 2
	Groups       []string // default ["group1"]
	StorePaths   int      // store paths per storage; default 1
	SubdirCount  int      // subdir_count_per_path; default 4 (first start creates SubdirCount² dirs per path)
	UseStorageID bool     // id mode: storage_ids.conf, id_type_in_filename=id
	// TrackerConf and StorageConf are extra "key = value" lines replacing
	// the generated ones (e.g. "check_active_interval = 5").
	TrackerConf, StorageConf []string
}

// Tracker and Storage describe the servers; see devcluster.
type (
	Tracker = devcluster.Tracker
	Storage = devcluster.Storage
)

// Cluster is a running cluster owned by one test.
type Cluster struct {
	t  testing.TB
	dc *devcluster.Cluster

	Dir            string
	Tracker        *Tracker
	Storages       []*Storage
	Client         *client.Client // ready client loaded from ClientConfPath
	ClientConfPath string
	StorageIDsPath string // id mode only
}

// Start runs a cluster in t.TempDir() and waits until every storage is
// ACTIVE; it fails the test if that does not happen. The cluster is stopped
// by t.Cleanup. Set FDFS_TEST_LOG=stderr to see the server logs live and
// FDFS_TEST_LOG_LEVEL=debug for more of them.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	dir := t.TempDir()
	logger, closeLog := testLogger(t, dir)
	if opts.SubdirCount == 0 {
		opts.SubdirCount = 4
	}
	dc, err := devcluster.Launch(context.Background(), devcluster.Options{
		Dir:               dir,
		Groups:            opts.Groups,
		Storages:          opts.Storages,
		StorePaths:        opts.StorePaths,
		SubdirCount:       opts.SubdirCount,
		UseStorageID:      opts.UseStorageID,
		HeartBeatInterval: 1,
		LogLevel:          "info",
		TrackerConf:       opts.TrackerConf,
		StorageConf:       opts.StorageConf,
		Logger:            logger,
	})
	if err != nil {
		t.Errorf("start cluster: %v", err)
		closeLog() // prints the server log, the test having failed
		t.FailNow()
	}
	t.Cleanup(func() {
		if err := dc.Close(); err != nil {
			t.Errorf("stop cluster: %v", err)
		}
		closeLog()
	})
	return &Cluster{
		t:              t,
		dc:             dc,
		Dir:            dir,
		Tracker:        dc.Tracker,
		Storages:       dc.Storages,
		Client:         dc.Client,
		ClientConfPath: dc.ClientConfPath,
		StorageIDsPath: dc.StorageIDsPath,
	}
}

// testLogger returns a logger writing to <dir>/cluster.log (or stderr) and a
// function that closes it, printing the log's tail if the test failed.
func testLogger(t testing.TB, dir string) (*slog.Logger, func()) {
	level := slog.LevelInfo
	if os.Getenv("FDFS_TEST_LOG_LEVEL") == "debug" {
		level = slog.LevelDebug
	}
	hopts := &slog.HandlerOptions{Level: level}
	if os.Getenv("FDFS_TEST_LOG") == "stderr" {
		return slog.New(slog.NewTextHandler(os.Stderr, hopts)), func() {}
	}
	path := filepath.Join(dir, "cluster.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("cluster log: %v", err)
	}
	return slog.New(slog.NewTextHandler(f, hopts)), func() {
		if t.Failed() {
			if st, err := f.Stat(); err == nil {
				off := max(st.Size()-logTail, 0)
				b, _ := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
				t.Logf("server log (%s, last %d bytes):\n%s", path, len(b), b)
			}
		}
		f.Close()
	}
}

// TrackerAddr is the tracker's "ip:port".
func (c *Cluster) TrackerAddr() string { return c.Tracker.Addr() }

// StorageAddrs lists the storages' "ip:port" in Storages order.
func (c *Cluster) StorageAddrs() []string {
	var out []string
	for _, s := range c.Storages {
		out = append(out, s.Addr())
	}
	return out
}

// StorageConf loads storage i's conf file.
func (c *Cluster) StorageConf(i int) *conf.Storage {
	c.t.Helper()
	cfg, err := conf.LoadStorage(c.Storages[i].ConfPath)
	if err != nil {
		c.t.Fatalf("load %s: %v", c.Storages[i].ConfPath, err)
	}
	return cfg
}

// TrackerConf loads tracker.conf.
func (c *Cluster) TrackerConf() *conf.Tracker {
	c.t.Helper()
	cfg, err := conf.LoadTracker(c.Tracker.ConfPath)
	if err != nil {
		c.t.Fatalf("load %s: %v", c.Tracker.ConfPath, err)
	}
	return cfg
}

// StopStorage stops storage i.
func (c *Cluster) StopStorage(i int) {
	c.t.Helper()
	if err := c.dc.StopStorage(i); err != nil {
		c.t.Fatal(err)
	}
}

// RestartStorage stops storage i if it runs, starts it again from its conf
// file and waits until it is ACTIVE.
func (c *Cluster) RestartStorage(i int) {
	c.t.Helper()
	c.StopStorage(i)
	if err := c.dc.StartStorage(i); err != nil {
		c.t.Fatal(err)
	}
	c.WaitActive()
}

// StopTracker stops the tracker.
func (c *Cluster) StopTracker() {
	c.t.Helper()
	if err := c.dc.StopTracker(); err != nil {
		c.t.Fatal(err)
	}
}

// RestartTracker stops the tracker if it runs, starts it again on the same
// address and waits until every running storage is ACTIVE again.
func (c *Cluster) RestartTracker() {
	c.t.Helper()
	c.StopTracker()
	if err := c.dc.StartTracker(); err != nil {
		c.t.Fatal(err)
	}
	c.WaitActive()
}

// WaitActive waits until every running storage is ACTIVE.
func (c *Cluster) WaitActive() {
	c.t.Helper()
	if err := c.dc.WaitActive(context.Background()); err != nil {
		c.t.Fatal(err)
	}
}

// WaitStatus waits until storage i has the given status on the tracker.
func (c *Cluster) WaitStatus(i int, status byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), c.dc.Opts.ActiveTimeout)
	defer cancel()
	if err := c.dc.WaitStatus(ctx, []*Storage{c.Storages[i]}, status); err != nil {
		c.t.Fatal(err)
	}
}

// Status returns storage i's status as the tracker reports it
// (protocol.StatusNone if it is not listed).
func (c *Cluster) Status(i int) byte {
	c.t.Helper()
	st, err := c.dc.StatusOf(context.Background(), c.Storages[i])
	if err != nil {
		c.t.Fatal(err)
	}
	return st
}
