package interop

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fdfsgo/fdfs/internal/testwait"
)

// TestRefillNewDiskMixed: a store path of our storage, in a group with an
// upstream storage, loses its disk while the storage runs (the path gone)
// and gets a new, empty one in its place: ours refills it from the
// upstream storage (its FETCH_ONE_PATH_BINLOG and downloads, as disk
// recovery at start does) without a restart, the metadata files with it,
// under either kind of tracker, and the path takes uploads again.
func TestRefillNewDiskMixed(t *testing.T) {
	for _, trk := range []impl{ours, upstream} {
		t.Run(string(trk)+"Tracker", func(t *testing.T) {
			e := newEnv(t)
			trackers := e.addBoundTrackers(trk)
			up := e.newStorage(upstream, "group1").withStorePaths(2)
			our := e.newStorage(ours, "group1", "refill_new_disk_after = 1").withStorePaths(2)
			up.run(trackers...)
			our.run(trackers...)
			e.writeClientConf()
			e.waitActive(up, our)
			cl := e.client()
			files := uploadMany(t, cl, up, 300, 8<<10, false)
			for id, b := range files {
				e.waitOnDisk(id, b, our)
			}

			p1 := our.storePaths()[1]
			if err := os.Rename(p1, p1+".dead"); err != nil {
				t.Fatal(err)
			}
			e.waitLog(our, "store path is gone")
			if err := os.Mkdir(p1, 0o755); err != nil {
				t.Fatal(err)
			}
			e.waitLog(our, "store path refilled")
			for id, b := range files {
				e.waitOnDisk(id, b, our)
			}
			checkMetaRecovered(t, e, files, up, our)
			for id, b := range uploadMany(t, cl, our, 20, 8<<10, false) {
				e.waitOnDisk(id, b, up)
			}
		})
	}
}

// waitLog waits until one of n's logs (its output, the files under
// base_path/logs) holds text.
func (e *env) waitLog(n *node, text string) {
	e.t.Helper()
	testwait.For(e.t, 60*time.Second, n.name+" to log "+strconv.Quote(text), func() error {
		logs, _ := filepath.Glob(filepath.Join(n.base, "logs", "*.log"))
		for _, f := range append(logs, n.out) {
			if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), text) {
				return nil
			}
		}
		return errors.New("not logged yet")
	})
}
